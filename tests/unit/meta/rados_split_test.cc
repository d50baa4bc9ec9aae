// Range shards of the RADOS index (docs/rados.md, "Range shards"): a split step by step with
// writes between its steps, resumed as a gateway that died mid-split would leave it, and
// gateways writing while splits run under them. The conformance kit runs every index case
// with splits under way as well (backend "rados_split"). Runs when SLUICE_CEPH_CONF names a
// cluster; skipped otherwise.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>

#include "meta/rados/rados_index.h"
#include "testutil/index_fixture.h"
#include "testutil/names.h"

namespace sluice::meta {
namespace {

using namespace sluice::testing_names;  // NOLINT

class RadosSplits : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-rados-split-XXXXXX";
    ns_ = mkdtemp(tmpl);
    a_ = OpenRadosIndexForTest(ns_);
    if (!a_) GTEST_SKIP() << "no cluster (set SLUICE_CEPH_CONF)";
    ra_ = static_cast<RadosIndex*>(a_.get());
    ra_->SetShardKeys(16, /*background=*/false);
    ASSERT_TRUE(a_->CreateBucket({"bkt"_b, 1, "o", "us-east-1"}).ok());
  }
  void TearDown() override { std::system(("rm -rf " + ns_).c_str()); }

  VersionId Put(const std::string& key, const std::string& etag) {
    ObjectMeta m;
    m.etag = etag;
    m.inline_data = etag;
    m.size = etag.size();
    m.mtime_micros = ++now_;
    m.version = VersionId::Of(now_, now_);
    auto r = a_->PutObject("bkt"_b, ObjectKey::Trusted(key), m, {}, nullptr);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (r.ok()) model_[key][r->version.ToString()] = etag;
    return r.ok() ? r->version : VersionId();
  }
  void DeleteVersion(const std::string& key, const VersionId& v) {
    ++now_;
    auto r = a_->DeleteObject("bkt"_b, ObjectKey::Trusted(key),
                              {v, VersionId::Of(now_, now_), static_cast<int64_t>(now_)}, nullptr);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    model_[key].erase(v.ToString());
    if (model_[key].empty()) model_.erase(key);
  }
  // Every version the model holds, and nothing else, listed across the shards; usage as
  // counted from the records.
  void ExpectModel(const std::string& when) {
    std::map<std::string, std::map<std::string, std::string>> listed;
    VersionListQuery q;
    q.max_keys = 7;  // pages that end inside shards and at their ends
    for (int guard = 0; guard < 1000; guard++) {
      auto page = a_->ListObjectVersions("bkt"_b, q);
      ASSERT_TRUE(page.ok()) << page.status().ToString();
      for (const auto& e : page->entries) listed[e.key][e.meta.version.ToString()] = e.meta.etag;
      if (!page->truncated) break;
      q.key_marker = page->next_key_marker;
      q.version_id_marker = page->next_version_id_marker;
    }
    for (const auto& [k, v] : model_)
      if (listed[k] != v) {
        std::string a, b;
        for (const auto& [id, e] : listed[k]) a += id.substr(12, 8) + "=" + e + " ";
        for (const auto& [id, e] : v) b += id.substr(12, 8) + "=" + e + " ";
        ADD_FAILURE() << when << ": key " << k << " lists " << a << " wrote " << b;
      }
    for (const auto& [k, v] : listed)
      if (!model_.count(k) && !v.empty())
        ADD_FAILURE() << when << ": key " << k << " listed, never written";
    for (const auto& [key, versions] : model_)
      for (const auto& [id, etag] : versions) {
        auto got = a_->GetObject("bkt"_b, ObjectKey::Trusted(key), *VersionId::Parse(id));
        ASSERT_TRUE(got.ok()) << key << " " << id << " " << when;
        EXPECT_EQ(got->etag, etag);
        EXPECT_EQ(got->inline_data, etag);
      }
    auto kept = a_->GetBucketUsage("bkt"_b);
    ASSERT_TRUE(kept.ok());
    ASSERT_TRUE(a_->RecountUsage("bkt"_b).ok());
    auto counted = a_->GetBucketUsage("bkt"_b);
    ASSERT_TRUE(counted.ok());
    EXPECT_EQ(kept->versions, counted->versions) << when;
    EXPECT_EQ(kept->objects, counted->objects) << when;
    EXPECT_EQ(kept->bytes, counted->bytes) << when;
  }

  std::string ns_;
  std::shared_ptr<Index> a_;
  RadosIndex* ra_ = nullptr;
  uint64_t now_ = 1000;
  std::map<std::string, std::map<std::string, std::string>> model_;
};

TEST_F(RadosSplits, AStepwiseSplitKeepsEveryWriteMadeBetweenItsSteps) {
  ASSERT_TRUE(a_->SetBucketVersioning("bkt"_b, Versioning::kEnabled).ok());
  std::vector<std::pair<std::string, VersionId>> made;
  for (int i = 0; i < 12; i++) {
    const std::string key = "k" + std::to_string(10 + i);
    made.emplace_back(key, Put(key, "a" + std::to_string(i)));
    Put(key, "b" + std::to_string(i));
  }
  auto shards = ra_->ShardsOf("bkt"_b);
  ASSERT_TRUE(shards.ok());
  ASSERT_EQ(shards->size(), 1u);
  const std::string first = shards->front();
  // Begun: the shard logs writes to the upper half.
  ra_->StopSplitsAfterForTest(1);
  ASSERT_TRUE(ra_->SplitIfFull("bkt"_b, first).ok());
  Put("k21", "c1");  // upper half: logged
  DeleteVersion(made[11].first, made[11].second);
  Put("k10", "c2");  // lower half
  Put("k30", "c3");  // new, upper
  // Copied: more writes, then the copy is resumed (as the next gateway would).
  ra_->StopSplitsAfterForTest(2);
  ASSERT_TRUE(ra_->SplitIfFull("bkt"_b, first).ok());
  Put("k20", "d1");
  DeleteVersion(made[9].first, made[9].second);
  Put("k31", "d2");
  // Fenced: the upper half waits for the finish, which the next lock holder does.
  ra_->StopSplitsAfterForTest(3);
  ASSERT_TRUE(ra_->SplitIfFull("bkt"_b, first).ok());
  ra_->StopSplitsAfterForTest(0);
  ASSERT_TRUE(ra_->SplitIfFull("bkt"_b, first).ok());
  shards = ra_->ShardsOf("bkt"_b);
  ASSERT_TRUE(shards.ok());
  EXPECT_EQ(shards->size(), 2u);
  EXPECT_EQ(ra_->splits(), 1u);
  ExpectModel("after the split");
  // The new shard takes writes, and splits again.
  for (int i = 0; i < 10; i++) Put("k4" + std::to_string(i), "e" + std::to_string(i));
  auto now = ra_->ShardsOf("bkt"_b);
  ASSERT_TRUE(now.ok());
  for (const auto& oid : *now) ASSERT_TRUE(ra_->SplitIfFull("bkt"_b, oid).ok());
  EXPECT_GE(ra_->ShardsOf("bkt"_b)->size(), 3u);
  ExpectModel("after more splits");
}

TEST_F(RadosSplits, WritersOnTwoGatewaysLoseNothingWhileShardsSplitUnderThem) {
  auto b = OpenRadosIndexForTest(ns_, /*shard_keys=*/24);
  ASSERT_TRUE(b);
  ra_->SetShardKeys(24, /*background=*/true);
  ASSERT_TRUE(a_->SetBucketVersioning("bkt"_b, Versioning::kEnabled).ok());
  constexpr int kThreads = 4, kPerThread = 60;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  std::mutex mu;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      Index* ix = (t % 2 ? a_ : b).get();
      std::mt19937 rng(t);
      for (int i = 0; i < kPerThread; i++) {
        const std::string key = "t" + std::to_string(t) + "/" + std::to_string(rng() % 40);
        ObjectMeta m;
        m.etag = "e" + std::to_string(i);
        m.inline_data = m.etag;
        m.size = m.etag.size();
        auto r = ix->PutObject("bkt"_b, ObjectKey::Trusted(key), m, {}, nullptr);
        if (!r.ok()) {
          failures++;
          ADD_FAILURE() << r.status().ToString();
          continue;
        }
        std::lock_guard l(mu);
        model_[key][r->version.ToString()] = m.etag;
      }
    });
  }
  for (auto& th : threads) th.join();
  ra_->WaitForSplits();
  static_cast<RadosIndex*>(b.get())->WaitForSplits();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(ra_->ShardsOf("bkt"_b)->size(), 2u);
  ExpectModel("after the writers");
}

}  // namespace
}  // namespace sluice::meta
