// Listing packs of the RADOS index (packs.h; docs/storage-format.md, "Listing packs"): a
// built shard lists from packs and deltas exactly what its records say, through
// overwrites, removals, compactions and rebuilds, and gateways writing while compactions
// and splits run under them lose no entry. The conformance kit also runs every index case
// on shards that keep packs of three objects (backend "rados_split"). Runs when
// SLUICE_CEPH_CONF names a cluster; skipped otherwise.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "meta/rados/rados_index.h"
#include "testutil/index_fixture.h"
#include "testutil/names.h"

namespace sluice::meta {
namespace {

using namespace sluice::testing_names;  // NOLINT

class RadosPacks : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-rados-pack-XXXXXX";
    ns_ = mkdtemp(tmpl);
    a_ = OpenRadosIndexForTest(ns_, 0, /*pack_keys=*/8);
    if (!a_) GTEST_SKIP() << "no cluster (set SLUICE_CEPH_CONF)";
    ra_ = static_cast<RadosIndex*>(a_.get());
    ra_->SetShardKeys(100000, /*background=*/false);
    ASSERT_TRUE(a_->CreateBucket({"bkt"_b, 1, "o", "us-east-1"}).ok());
  }
  void TearDown() override { std::system(("rm -rf " + ns_).c_str()); }

  void Put(Index* ix, const std::string& key, const std::string& etag) {
    ObjectMeta m;
    m.etag = etag;
    m.inline_data = etag;
    m.size = etag.size();
    m.content_type = "type/" + etag;
    auto r = ix->PutObject("bkt"_b, ObjectKey::Trusted(key), m, {}, nullptr);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::lock_guard l(mu_);
    model_[key] = etag;
  }
  void Remove(Index* ix, const std::string& key) {
    auto r = ix->DeleteObject("bkt"_b, ObjectKey::Trusted(key), {}, nullptr);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::lock_guard l(mu_);
    model_.erase(key);
  }
  std::string First() {
    auto shards = ra_->ShardsOf("bkt"_b);
    EXPECT_TRUE(shards.ok());
    return shards.ok() ? shards->front() : "";
  }
  // Every listing shape gives what the model says: whole pages, small pages that end
  // inside packs, a prefix, a delimiter (whose seeks land inside packs) and start-after.
  void ExpectModel(Index* ix, const std::string& when) {
    for (uint32_t max : {1000u, 7u, 3u}) {
      std::map<std::string, std::string> listed;
      ListQuery q;
      q.max_keys = max;
      for (int guard = 0; guard < 10000; guard++) {
        auto page = ix->ListObjects("bkt"_b, q);
        ASSERT_TRUE(page.ok()) << page.status().ToString();
        for (const auto& e : page->objects) {
          EXPECT_TRUE(listed.emplace(e.key, e.meta.etag).second) << when << ": twice " << e.key;
          EXPECT_EQ(e.meta.size, e.meta.etag.size()) << when << " " << e.key;
          EXPECT_EQ(e.meta.content_type, "type/" + e.meta.etag) << when << " " << e.key;
        }
        if (!page->truncated) break;
        q.start_after = page->next_marker;
      }
      EXPECT_EQ(listed, model_) << when << ", pages of " << max;
    }
    // Delimited, under a prefix, and from a start key.
    std::set<std::string> prefixes, keys;
    for (const auto& [k, v] : model_) {
      const size_t slash = k.find('/');
      if (slash == std::string::npos) {
        keys.insert(k);
      } else {
        prefixes.insert(k.substr(0, slash + 1));
      }
    }
    for (uint32_t max : {1000u, 2u}) {
      std::set<std::string> got_keys, got_prefixes;
      ListQuery q;
      q.max_keys = max;
      q.delimiter = "/";
      for (int guard = 0; guard < 10000; guard++) {
        auto page = ix->ListObjects("bkt"_b, q);
        ASSERT_TRUE(page.ok()) << page.status().ToString();
        for (const auto& e : page->objects) got_keys.insert(e.key);
        for (const auto& c : page->common_prefixes) got_prefixes.insert(c);
        if (!page->truncated) break;
        q.start_after = page->next_marker;
      }
      EXPECT_EQ(got_keys, keys) << when << ", delimited pages of " << max;
      EXPECT_EQ(got_prefixes, prefixes) << when << ", delimited pages of " << max;
    }
    ListQuery q;
    q.prefix = "d1/";
    q.start_after = "d1/k05";
    std::vector<std::string> want, got;
    for (const auto& [k, v] : model_)
      if (k.rfind("d1/", 0) == 0 && k > "d1/k05") want.push_back(k);
    auto page = ix->ListObjects("bkt"_b, q);
    ASSERT_TRUE(page.ok());
    for (const auto& e : page->objects) got.push_back(e.key);
    EXPECT_EQ(got, want) << when << ", a prefix from a start key";
  }
  static std::string Key(int i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "d%d/k%02d", i % 4, i);
    return buf;
  }

  std::string ns_;
  std::shared_ptr<Index> a_;
  RadosIndex* ra_ = nullptr;
  std::mutex mu_;
  std::map<std::string, std::string> model_;
};

TEST_F(RadosPacks, ListingsFromPacksAndDeltasMatchTheRecordsThroughCompactions) {
  for (int i = 0; i < 100; i++) Put(a_.get(), Key(i), "a" + std::to_string(i));
  for (int i = 0; i < 5; i++) Put(a_.get(), "top" + std::to_string(i), "t" + std::to_string(i));
  ExpectModel(a_.get(), "before packing");
  const auto before = ra_->list_cache_stats().packed;
  ASSERT_TRUE(ra_->PackIfNeeded("bkt"_b, First()).ok());
  EXPECT_EQ(ra_->packs_built(), 1u);
  ExpectModel(a_.get(), "packed");
  EXPECT_GT(ra_->list_cache_stats().packed, before) << "listings read no pack";
  // Deltas over the packs: overwrites, removals, new keys before, inside and after.
  for (int i = 0; i < 100; i += 3) Put(a_.get(), Key(i), "b" + std::to_string(i));
  for (int i = 1; i < 100; i += 7) Remove(a_.get(), Key(i));
  for (int i = 100; i < 140; i++) Put(a_.get(), Key(i), "c" + std::to_string(i));
  Put(a_.get(), "a-first", "f");
  Put(a_.get(), "zz-last", "z");
  ExpectModel(a_.get(), "with deltas");
  ASSERT_TRUE(ra_->PackIfNeeded("bkt"_b, First()).ok());
  EXPECT_GT(ra_->compactions(), 0u);
  ExpectModel(a_.get(), "compacted");
  // Empty whole regions, then compact: packs go away, listings stay right.
  for (int i = 10; i < 60; i++)
    if (model_.count(Key(i))) Remove(a_.get(), Key(i));
  ExpectModel(a_.get(), "regions emptied");
  ASSERT_TRUE(ra_->PackIfNeeded("bkt"_b, First()).ok());
  ExpectModel(a_.get(), "emptied regions compacted");
  // A second gateway, whose hint is stale after a rebuild, lists right too.
  auto b = OpenRadosIndexForTest(ns_, 0, /*pack_keys=*/8);
  ASSERT_TRUE(b);
  ExpectModel(b.get(), "second gateway");
  ExpectModel(a_.get(), "cached pages");
}

TEST_F(RadosPacks, SmallShardsKeepNoPacks) {
  for (int i = 0; i < 7; i++) Put(a_.get(), Key(i), "a");
  ASSERT_TRUE(ra_->PackIfNeeded("bkt"_b, First()).ok());
  EXPECT_EQ(ra_->packs_built(), 0u);
  ExpectModel(a_.get(), "unpacked");
}

TEST_F(RadosPacks, GatewaysWritingWhileCompactionsAndSplitsRunLoseNoEntry) {
  auto b = OpenRadosIndexForTest(ns_, 0, /*pack_keys=*/4);
  ASSERT_TRUE(b);
  auto* rb = static_cast<RadosIndex*>(b.get());
  ra_->SetPackKeys(4);
  ra_->SetShardKeys(160, /*background=*/true);
  rb->SetShardKeys(160, /*background=*/true);
  for (int round = 0; round < 4; round++) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; t++) {
      threads.emplace_back([&, t] {
        Index* ix = (t % 2 ? a_ : b).get();
        std::mt19937 rng(round * 10 + t);
        for (int i = 0; i < 50; i++) {
          const std::string key = "w" + std::to_string(t) + "/" + std::to_string(rng() % 60);
          if (rng() % 4 == 0) {
            Remove(ix, key);
          } else {
            Put(ix, key, "r" + std::to_string(round) + "i" + std::to_string(i));
          }
        }
      });
    }
    // A lister alongside: pages stay sorted and never repeat a key.
    threads.emplace_back([&] {
      for (int n = 0; n < 5; n++) {
        ListQuery q;
        q.max_keys = 13;
        std::string last;
        for (int guard = 0; guard < 1000; guard++) {
          auto page = b->ListObjects("bkt"_b, q);
          ASSERT_TRUE(page.ok()) << page.status().ToString();
          for (const auto& e : page->objects) {
            EXPECT_LT(last, e.key);
            last = e.key;
          }
          if (!page->truncated) break;
          q.start_after = page->next_marker;
        }
      }
    });
    for (auto& th : threads) th.join();
    ra_->WaitForSplits();
    rb->WaitForSplits();
    ExpectModel(a_.get(), "round " + std::to_string(round));
    ExpectModel(b.get(), "round " + std::to_string(round) + ", other gateway");
  }
  EXPECT_GT(ra_->splits() + rb->splits(), 0u);
  EXPECT_GT(ra_->list_cache_stats().packed + rb->list_cache_stats().packed, 0u);
  EXPECT_GT(ra_->packs_built() + rb->packs_built(), 0u);
  EXPECT_GT(ra_->compactions() + rb->compactions(), 0u);
}

}  // namespace
}  // namespace sluice::meta
