// What the RADOS index adds to the conformance kit: several gateways (RadosIndex instances,
// each with its own IoCtx) on one cluster namespace. Runs when SLUICE_CEPH_CONF names a
// cluster (ctest integration.rados_store starts one); skipped otherwise.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "meta/kv/codec.h"
#include "meta/rados/rados_txn.h"
#include "testutil/index_fixture.h"

namespace sluice::meta {
namespace {

class RadosGateways : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-rados-gw-XXXXXX";
    ns_ = mkdtemp(tmpl);
    a_ = OpenRadosIndexForTest(ns_);
    if (!a_) GTEST_SKIP() << "no cluster (set SLUICE_CEPH_CONF)";
    b_ = OpenRadosIndexForTest(ns_);
    ASSERT_TRUE(b_);
    ASSERT_TRUE(a_->CreateBucket({BucketName::Trusted("bkt"), 1, "o", "us-east-1"}).ok());
  }
  void TearDown() override { std::system(("rm -rf " + ns_).c_str()); }

  static ObjectMeta Meta(const std::string& etag) {
    ObjectMeta m;
    m.etag = etag;
    m.inline_data = etag;
    m.size = etag.size();
    return m;
  }

  std::string ns_;
  std::shared_ptr<Index> a_, b_;
};

TEST_F(RadosGateways, RacingWritersAllLandAndConditionalOnesHaveOneWinner) {
  constexpr int kThreads = 8, kKeys = 40;
  std::atomic<int> failures{0}, winners{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      Index* ix = (t % 2 ? a_ : b_).get();
      for (int k = 0; k < kKeys; k++) {
        // Everyone writes every key of its own, and races for the shared ones.
        auto own =
            ix->PutObject(BucketName::Trusted("bkt"),
                          ObjectKey::Trusted("t" + std::to_string(t) + "/" + std::to_string(k)),
                          Meta("e" + std::to_string(k)), {}, nullptr);
        if (!own.ok()) failures++;
        WriteCondition only_first;
        only_first.if_none_match_any = true;
        auto claim = ix->PutObject(BucketName::Trusted("bkt"),
                                   ObjectKey::Trusted("claim/" + std::to_string(k)),
                                   Meta("w" + std::to_string(t)), only_first, nullptr);
        if (claim.ok()) {
          winners++;
        } else if (claim.status().code() != Err::kPreconditionFailed) {
          failures++;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(winners.load(), kKeys);  // one per contested key
  ListQuery q;
  q.max_keys = 1000;
  auto page = b_->ListObjects(BucketName::Trusted("bkt"), q);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->objects.size(), static_cast<size_t>(kThreads * kKeys + kKeys));
  // The two gateways raced for the same object: some commits were refused and ran again.
  auto* ra = static_cast<RadosIndex*>(a_.get());
  auto* rb = static_cast<RadosIndex*>(b_.get());
  EXPECT_GT(ra->conflicts() + rb->conflicts(), 0u);
}

TEST_F(RadosGateways, ChangesMadeThroughOneAreHeardByTheOther) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> heard;
  b_->Subscribe([&](const Index::Change& c) {
    std::lock_guard l(mu);
    heard.push_back((c.kind == Index::Change::Kind::kBucket ? "bucket:" : "docs:") + c.name +
                    (c.local ? "" : "(remote)"));
    cv.notify_all();
  });
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(a_->PutBucketConfig(BucketName::Trusted("bkt"), "policy", "{}").ok());
  ASSERT_TRUE(a_->WriteDocs({{"keys", "AK1", "{}"}}).ok());
  ASSERT_TRUE(b_->DeleteBucketConfig(BucketName::Trusted("bkt"), "policy").ok());
  std::unique_lock l(mu);
  // The announcing call waits for the others' acknowledgements: heard before it returned.
  EXPECT_EQ(heard,
            (std::vector<std::string>{"bucket:bkt(remote)", "docs:keys(remote)", "bucket:bkt"}));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  // And what one wrote, the other reads at once.
  EXPECT_EQ(b_->ListDocs("keys")->size(), 1u);
  EXPECT_EQ(a_->GetBucketConfig(BucketName::Trusted("bkt"), "policy").status().code(),
            Err::kNotFound);
}

// What a write releases is queued in its bucket's object; the caller's GcDone (after it
// deleted the data) clears it without a PendingGc first, and what no one cleared is what
// PendingGc finds at the next start.
TEST_F(RadosGateways, ReleasedDataIsQueuedUntilGcDone) {
  const BucketName b = BucketName::Trusted("bkt");
  auto with = [](const std::string& id) {
    ObjectMeta m;
    m.segments.push_back({id, 1, ""});
    return m;
  };
  ASSERT_TRUE(a_->PutObject(b, ObjectKey::Trusted("k"), with("d1"), {}, nullptr).ok());
  std::vector<std::string> released;
  ASSERT_TRUE(a_->PutObject(b, ObjectKey::Trusted("k"), with("d2"), {}, &released).ok());
  EXPECT_EQ(released, std::vector<std::string>{"d1"});
  ASSERT_TRUE(a_->GcDone(released).ok());
  EXPECT_TRUE(b_->PendingGc(10)->empty());
  released.clear();
  ASSERT_TRUE(a_->PutObject(b, ObjectKey::Trusted("k"), with("d3"), {}, &released).ok());
  // The gateway died before deleting d2: another one finds it.
  EXPECT_EQ(*b_->PendingGc(10), std::vector<std::string>{"d2"});
  ASSERT_TRUE(b_->GcDone({"d2"}).ok());
  EXPECT_TRUE(a_->PendingGc(10)->empty());
}

TEST_F(RadosGateways, ATransactionWhoseReadChangedIsRefusedByTheOsd) {
  // Directly on the transaction: read a key, let another writer change it, then commit.
  const char* conf = std::getenv("SLUICE_CEPH_CONF");
  auto cluster = io::RadosCluster::Connect(conf, "admin", std::chrono::seconds(30));
  ASSERT_TRUE(cluster.ok());
  auto pool = (*cluster)->OpenPool("sluice-kit.meta");
  ASSERT_TRUE(pool.ok());
  pool->set_namespace(ns_);
  const std::string oid = RadosIndex::BucketObject("bkt");
  RadosTxn first(*pool, oid);
  std::string v;
  EXPECT_EQ(first.Get("k", &v).code(), Err::kNotFound);
  RadosTxn second(*pool, oid);
  EXPECT_EQ(second.Get("k", &v).code(), Err::kNotFound);
  KvBatch b2;
  b2.Put("k", "second");
  ASSERT_TRUE(second.Write(b2, true).ok());
  KvBatch b1;
  b1.Put("k", "first");
  EXPECT_FALSE(first.Write(b1, true).ok());
  EXPECT_TRUE(first.conflicted());
  RadosTxn check(*pool, oid);
  ASSERT_TRUE(check.Get("k", &v).ok());
  EXPECT_EQ(v, "second");
  // An empty stored value is not an absent one.
  RadosTxn empty(*pool, oid);
  KvBatch e;
  e.Put("empty", "");
  ASSERT_TRUE(empty.Write(e, true).ok());
  RadosTxn absent(*pool, oid);
  ASSERT_TRUE(absent.Get("empty", &v).ok());
  EXPECT_EQ(v, "");
}

// A gateway serves a page it has listed before from memory once the OSD confirms the
// bucket object's version; a change through the other gateway moves the version, so the
// next page is read afresh and shows it: read-after-write holds across gateways.
TEST_F(RadosGateways, ListingPagesFromMemoryShowTheOtherGatewaysWrites) {
  const BucketName bkt = BucketName::Trusted("bkt");
  for (int i = 0; i < 30; i++)
    ASSERT_TRUE(b_->PutObject(bkt, ObjectKey::Trusted("k" + std::to_string(100 + i)), Meta("x"), {},
                              nullptr)
                    .ok());
  auto* ra = static_cast<RadosIndex*>(a_.get());
  ListQuery q;
  q.max_keys = 20;
  auto walk = [&] {  // every key, in pages of 20
    std::vector<std::string> keys;
    ListQuery p = q;
    for (;;) {
      auto page = a_->ListObjects(bkt, p);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok()) return keys;
      for (const auto& e : page->objects) keys.push_back(e.key);
      if (!page->truncated) return keys;
      p.start_after = page->next_marker;
    }
  };
  EXPECT_EQ(walk().size(), 30u);
  const auto before = ra->list_cache_stats();
  EXPECT_GT(before.runs, 0u);
  EXPECT_EQ(walk().size(), 30u);
  const auto warm = ra->list_cache_stats();
  EXPECT_EQ(warm.hits - before.hits, 2u) << "both pages came from memory";
  // The other gateway writes: the next walk sees it, through a failed validation.
  ASSERT_TRUE(b_->PutObject(bkt, ObjectKey::Trusted("k115a"), Meta("y"), {}, nullptr).ok());
  auto keys = walk();
  ASSERT_EQ(keys.size(), 31u);
  EXPECT_EQ(keys[16], "k115a");
  EXPECT_GT(ra->list_cache_stats().stale, warm.stale);
  ASSERT_TRUE(b_->DeleteObject(bkt, ObjectKey::Trusted("k100"), {}, nullptr).ok());
  keys = walk();
  ASSERT_EQ(keys.size(), 30u);
  EXPECT_EQ(keys.front(), "k101");
  // A deleted bucket is not listed from memory.
  for (const auto& k : walk())
    ASSERT_TRUE(b_->DeleteObject(bkt, ObjectKey::Trusted(k), {}, nullptr).ok());
  EXPECT_TRUE(walk().empty());
  EXPECT_TRUE(walk().empty());
  ASSERT_TRUE(b_->DeleteBucket(bkt).ok());
  EXPECT_EQ(a_->ListObjects(bkt, q).status().code(), Err::kNoSuchBucket);
}

// A hold left without its snapshot (a gateway died between CreateSnapshot's two writes) is
// dropped when it stands in the way, but only once it is older than the grace period: a
// young one may belong to a snapshot whose creation is still under way.
TEST_F(RadosGateways, StraySnapshotHoldsAreDroppedOnlyPastTheirGrace) {
  const BucketName bkt = BucketName::Trusted("bkt");
  ASSERT_TRUE(a_->SetBucketVersioning(bkt, Versioning::kEnabled).ok());
  auto cluster =
      io::RadosCluster::Connect(std::getenv("SLUICE_CEPH_CONF"), "admin", std::chrono::seconds(30));
  ASSERT_TRUE(cluster.ok());
  auto pool = (*cluster)->OpenPool("sluice-kit.meta");
  ASSERT_TRUE(pool.ok());
  pool->set_namespace(ns_);
  auto hold = [&](const std::string& snap, int64_t at) {
    RadosTxn txn(*pool, RadosIndex::BucketObject("bkt"));
    KvBatch b;
    b.Put(codec::SnapshotKey("bkt", snap), std::to_string(at));
    ASSERT_TRUE(txn.Write(b, true).ok());
  };
  const int64_t now = io::SystemClock()->NowMicros();
  hold("young-stray", now - 1000 * 1000);
  auto s = b_->SetBucketVersioning(bkt, Versioning::kSuspended);
  EXPECT_EQ(s.code(), Err::kInvalidBucketState) << "a young hold is not taken for a stray";
  // Past the grace, it is: dropped, and the suspend goes through.
  RadosTxn txn(*pool, RadosIndex::BucketObject("bkt"));
  KvBatch b;
  b.Delete(codec::SnapshotKey("bkt", "young-stray"));
  ASSERT_TRUE(txn.Write(b, true).ok());
  hold("old-stray", now - RadosIndex::kSnapshotHoldGraceMicros - 60 * 1000 * 1000);
  ASSERT_TRUE(b_->SetBucketVersioning(bkt, Versioning::kSuspended).ok());
  RadosTxn check(*pool, RadosIndex::BucketObject("bkt"));
  std::string v;
  EXPECT_EQ(check.Get(codec::SnapshotKey("bkt", "old-stray"), &v).code(), Err::kNotFound);
  // A real snapshot's hold stays whatever its age: it has its bucket.
  ASSERT_TRUE(a_->SetBucketVersioning(bkt, Versioning::kEnabled).ok());
  ASSERT_TRUE(
      a_->CreateSnapshot(bkt, BucketName::Trusted("snap-kept"), now - 3600LL * 1000 * 1000, "o")
          .ok());
  EXPECT_EQ(b_->SetBucketVersioning(bkt, Versioning::kSuspended).code(), Err::kInvalidBucketState);
  ASSERT_TRUE(b_->DeleteSnapshot(BucketName::Trusted("snap-kept")).ok());
}

// A record with inline bytes is kept as a head and a tail: a listing page reads heads only
// (so its size does not grow with the objects'), GET joins them, and rewriting the record
// small or deleting it leaves no tail behind.
TEST_F(RadosGateways, LongRecordsAreSplitAndListingsReadOnlyTheirHeads) {
  const BucketName bkt = BucketName::Trusted("bkt");
  const std::string big(16384, 'b');
  auto meta_of = [](const std::string& bytes) {
    ObjectMeta m;
    m.etag = "e" + std::to_string(bytes.size());
    m.inline_data = bytes;
    m.size = bytes.size();
    m.content_type = "image/jpeg";
    return m;
  };
  for (int i = 0; i < 40; i++)
    ASSERT_TRUE(a_->PutObject(bkt, ObjectKey::Trusted("img/" + std::to_string(1000 + i)),
                              meta_of(big), {}, nullptr)
                    .ok());
  auto got = b_->GetObject(bkt, ObjectKey::Trusted("img/1003"));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->inline_data, big);
  auto* rb = static_cast<RadosIndex*>(b_.get());
  ListQuery q;
  q.max_keys = 100;
  auto page = b_->ListObjects(bkt, q);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->objects.size(), 40u);
  EXPECT_EQ(page->objects[5].meta.size, big.size());
  EXPECT_EQ(page->objects[5].meta.etag, "e16384");
  EXPECT_EQ(page->objects[5].meta.content_type, "image/jpeg");
  EXPECT_LT(rb->list_cache_stats().bytes, 40u * 1024)
      << "the page holds heads, not 640 KiB of bytes";

  auto cluster =
      io::RadosCluster::Connect(std::getenv("SLUICE_CEPH_CONF"), "admin", std::chrono::seconds(30));
  ASSERT_TRUE(cluster.ok());
  auto pool = (*cluster)->OpenPool("sluice-kit.meta");
  ASSERT_TRUE(pool.ok());
  pool->set_namespace(ns_);
  auto tail_of = [&](const std::string& key) {
    RadosTxn raw(*pool, RadosIndex::BucketObject("bkt"));
    std::string v;
    return raw.Get(RadosTxn::TailKey(codec::ObjectKey(bkt, ObjectKey::Trusted(key))), &v).code();
  };
  EXPECT_EQ(tail_of("img/1004"), Err::kOk);
  // Rewritten small: the tail goes; deleted: likewise; the bytes read back as written.
  ASSERT_TRUE(
      b_->PutObject(bkt, ObjectKey::Trusted("img/1004"), meta_of("tiny"), {}, nullptr).ok());
  EXPECT_EQ(tail_of("img/1004"), Err::kNotFound);
  EXPECT_EQ(a_->GetObject(bkt, ObjectKey::Trusted("img/1004"))->inline_data, "tiny");
  ASSERT_TRUE(b_->DeleteObject(bkt, ObjectKey::Trusted("img/1005"), {}, nullptr).ok());
  EXPECT_EQ(tail_of("img/1005"), Err::kNotFound);
  // Versioned: each version keeps its bytes through promotions.
  ASSERT_TRUE(a_->SetBucketVersioning(bkt, Versioning::kEnabled).ok());
  const std::string v1(3000, '1'), v2(5000, '2');
  ObjectMeta m1 = meta_of(v1), m2 = meta_of(v2);
  const int64_t now = io::SystemClock()->NowMicros();
  m1.version = VersionId::Of(now, 1);
  m2.version = VersionId::Of(now + 1, 2);
  ASSERT_TRUE(a_->PutObject(bkt, ObjectKey::Trusted("ver"), m1, {}, nullptr).ok());
  ASSERT_TRUE(a_->PutObject(bkt, ObjectKey::Trusted("ver"), m2, {}, nullptr).ok());
  EXPECT_EQ(b_->GetObject(bkt, ObjectKey::Trusted("ver"))->inline_data, v2);
  EXPECT_EQ(b_->GetObject(bkt, ObjectKey::Trusted("ver"), m1.version)->inline_data, v1);
  DeleteRequest del;
  del.version = m2.version;
  ASSERT_TRUE(b_->DeleteObject(bkt, ObjectKey::Trusted("ver"), del, nullptr).ok());
  EXPECT_EQ(a_->GetObject(bkt, ObjectKey::Trusted("ver"))->inline_data, v1);
}

}  // namespace
}  // namespace sluice::meta
