// compat: lifecycle
// Lifecycle rules: parsing and validation, S3's day arithmetic, and the worker applied on a
// manual clock (no waiting): expiration, noncurrent versions kept by count and age,
// expired delete markers, aborted uploads, filters, and Object Lock respected.
#include "s3/lifecycle.h"

#include <gtest/gtest.h>

#include <boost/asio/thread_pool.hpp>

#include "common/strings.h"
#include "io/env.h"
#include "meta/kv/kv_index.h"
#include "meta/kv/mem_kv.h"
#include "s3/lifecycle_worker.h"
#include "storage/mem/mem_data_store.h"
#include "testutil/names.h"

namespace sluice::s3 {
namespace {

using namespace sluice::testing_names;  // NOLINT

constexpr int64_t kDay = 86400LL * 1000000;
constexpr int64_t kStart = 1700000000LL * 1000000;  // 2023-11-14T22:13:20Z

std::string Rules(const std::string& body) {
  return "<LifecycleConfiguration>" + body + "</LifecycleConfiguration>";
}

TEST(LifecycleConfig, ParsesAndRendersTheRuleSet) {
  auto c = ParseLifecycle(Rules(
      "<Rule><ID>ckpt</ID><Filter><And><Prefix>ckpt/</Prefix><Tag><Key>keep</Key><Value>no</"
      "Value></Tag>"
      "<ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter><Status>Enabled</Status>"
      "<NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays><NewerNoncurrentVersions>3"
      "</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>"
      "<Rule><Prefix>tmp/</Prefix><Status>Disabled</Status><Expiration><Days>1</Days></Expiration>"
      "<AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation>"
      "</AbortIncompleteMultipartUpload></Rule>"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->rules.size(), 2u);
  EXPECT_EQ(c->rules[0].filter.prefix, "ckpt/");
  EXPECT_EQ(*c->rules[0].newer_noncurrent_versions, 3u);
  EXPECT_EQ(*c->rules[0].filter.size_gt, 10u);
  EXPECT_FALSE(c->rules[1].enabled);
  EXPECT_EQ(c->rules[1].id, "rule-2");
  // The canonical form parses back to the same rules.
  auto again = ParseLifecycle(RenderLifecycle(*c));
  ASSERT_TRUE(again.ok()) << RenderLifecycle(*c);
  EXPECT_EQ(RenderLifecycle(*again), RenderLifecycle(*c));
}

TEST(LifecycleConfig, RefusesWhatS3Refuses) {
  auto code = [](const std::string& body) { return ParseLifecycle(Rules(body)).status().code(); };
  EXPECT_EQ(ParseLifecycle("<LifecycleConfiguration/>").status().code(), Err::kMalformedXML);
  EXPECT_EQ(code("<Rule><Status>On</Status><Expiration><Days>1</Days></Expiration></Rule>"),
            Err::kMalformedXML);
  EXPECT_EQ(code("<Rule><Status>Enabled</Status></Rule>"), Err::kInvalidRequest);
  EXPECT_EQ(code("<Rule><Status>Enabled</Status><Expiration><Days>0</Days></Expiration></Rule>"),
            Err::kInvalidArgument);
  EXPECT_EQ(code("<Rule><Status>Enabled</Status><Expiration><Days>1</"
                 "Days><Date>2030-01-01T00:00:00Z</Date>"
                 "</Expiration></Rule>"),
            Err::kMalformedXML);
  EXPECT_EQ(code("<Rule><Status>Enabled</Status><Expiration><Date>2030-01-01T10:00:00Z</Date></"
                 "Expiration></Rule>"),
            Err::kInvalidArgument);
  EXPECT_EQ(code("<Rule><Status>Enabled</Status><Transition><Days>1</Days><StorageClass>GLACIER"
                 "</StorageClass></Transition></Rule>"),
            Err::kNotImplemented);
  EXPECT_EQ(
      code(
          "<Rule><ID>a</ID><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"
          "<Rule><ID>a</ID><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>"),
      Err::kInvalidArgument);
  EXPECT_EQ(
      code("<Rule><Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter><Status>Enabled</Status>"
           "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></"
           "Rule>"),
      Err::kInvalidArgument);
  EXPECT_EQ(code("<Rule><Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter>"
                 "<Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>"),
            Err::kMalformedXML);  // two conditions without And
}

TEST(LifecycleConfig, DaysRoundUpToMidnightUtc) {
  // 2014-01-15 10:30 UTC + 3 days: 2014-01-19 00:00 UTC, as S3 documents.
  auto t = ParseIso8601("2014-01-15T10:30:00Z");
  EXPECT_EQ(FormatIso8601(ExpiryAfterDays(*t, 3)), "2014-01-19T00:00:00.000Z");
  auto midnight = ParseIso8601("2014-01-15T00:00:00Z");
  EXPECT_EQ(FormatIso8601(ExpiryAfterDays(*midnight, 1)), "2014-01-16T00:00:00.000Z");
}

class LifecycleWorkerTest : public ::testing::Test {
 protected:
  LifecycleWorkerTest() : index_(&kv_, false), clock_(kStart), pool_(2) {
    svc_.index = &async_index_;
    svc_.data = &async_data_;
    svc_.clock = &clock_;
    svc_.random = io::SystemRandom();
    svc_.blocking = &pool_;
    EXPECT_TRUE(index_.CreateBucket({"b"_b, 1, "o", "us-east-1"}).ok());
  }
  ~LifecycleWorkerTest() override { pool_.join(); }
  void SetRules(const std::string& body) {
    auto c = ParseLifecycle(Rules(body));
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ASSERT_TRUE(index_.PutBucketConfig("b"_b, kLifecycleConfig, RenderLifecycle(*c)).ok());
  }
  meta::WriteResult Put(const std::string& key, const std::string& etag, meta::HeaderList tags = {},
                        uint64_t size = 100) {
    meta::ObjectMeta m;
    m.etag = etag;
    m.size = size;
    m.tags = std::move(tags);
    m.mtime_micros = clock_.NowMicros();
    m.version = VersionId::Of(static_cast<uint64_t>(m.mtime_micros), ++rand_);
    auto r = index_.PutObject("b"_b, K(key), m, {}, nullptr);
    EXPECT_TRUE(r.ok());
    return *r;
  }
  void Delete(const std::string& key) {
    int64_t now = clock_.NowMicros();
    ASSERT_TRUE(index_
                    .DeleteObject("b"_b, K(key),
                                  {{}, VersionId::Of(static_cast<uint64_t>(now), ++rand_), now},
                                  nullptr)
                    .ok());
  }
  LifecycleStats Run() {
    LifecycleWorker worker(svc_, [this] { pages_++; });
    auto s = worker.RunOnce();
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? *s : LifecycleStats();
  }
  // "key:etag[*][M]" for every version, as listed.
  std::string Versions() {
    auto p = index_.ListObjectVersions("b"_b, {});
    std::string out;
    for (const auto& e : p->entries)
      out += e.key + ":" + e.meta.etag + (e.is_latest ? "*" : "") +
             (e.meta.delete_marker ? "M" : "") + ",";
    return out;
  }

  meta::MemKv kv_;
  meta::KvIndex index_;
  storage::MemDataStore data_;
  io::ManualClock clock_;
  boost::asio::thread_pool pool_;
  meta::AsyncIndex async_index_{&index_, &pool_};
  storage::AsyncDataStore async_data_{&data_, &pool_};
  Services svc_;
  uint64_t rand_ = 0;
  int pages_ = 0;
};

TEST_F(LifecycleWorkerTest, KeepsTheLastCheckpointsAndDropsTheRestAfterAWeek) {
  ASSERT_TRUE(index_.SetBucketVersioning("b"_b, meta::Versioning::kEnabled).ok());
  SetRules(
      "<Rule><ID>ckpt</ID><Filter><Prefix>ckpt/</Prefix></Filter><Status>Enabled</Status>"
      "<NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays>"
      "<NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>");
  for (int i = 0; i < 6; i++) {
    Put("ckpt/model.pt", "s" + std::to_string(i));
    Put("logs/run.txt", "l" + std::to_string(i));  // outside the rule's prefix
    clock_.Advance(kDay / 4);
  }
  EXPECT_EQ(Run().noncurrent_removed, 0u);  // nothing is a week old yet
  clock_.Advance(8 * kDay);
  LifecycleStats st = Run();
  // The latest plus the two newest noncurrent versions stay.
  EXPECT_EQ(st.noncurrent_removed, 3u);
  EXPECT_EQ(Versions(),
            "ckpt/model.pt:s5*,ckpt/model.pt:s4,ckpt/model.pt:s3,"
            "logs/run.txt:l5*,logs/run.txt:l4,logs/run.txt:l3,logs/run.txt:l2,logs/run.txt:l1,"
            "logs/run.txt:l0,");
  EXPECT_EQ(Run().noncurrent_removed, 0u);  // a second pass finds nothing more
}

TEST_F(LifecycleWorkerTest, ExpirationAddsMarkersAndExpiredMarkersGo) {
  ASSERT_TRUE(index_.SetBucketVersioning("b"_b, meta::Versioning::kEnabled).ok());
  SetRules(
      "<Rule><ID>tmp</ID><Filter><Prefix>tmp/</Prefix></Filter><Status>Enabled</Status>"
      "<Expiration><Days>1</Days></Expiration>"
      "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></"
      "NoncurrentVersionExpiration></Rule>"
      "<Rule><ID>markers</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status>"
      "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></"
      "Rule>");
  Put("tmp/a", "a");
  Put("keep", "k");
  Delete("gone");  // a marker with nothing under it
  clock_.Advance(2 * kDay);
  LifecycleStats st = Run();
  EXPECT_EQ(st.expired, 1u);          // tmp/a got a marker
  EXPECT_EQ(st.markers_removed, 1u);  // "gone"'s lone marker
  EXPECT_EQ(Versions(), "keep:k*,tmp/a:*M,tmp/a:a,");
  clock_.Advance(2 * kDay);
  st = Run();  // tmp/a's old version is noncurrent for a day now
  EXPECT_EQ(st.noncurrent_removed, 1u);
  EXPECT_EQ(Versions(), "keep:k*,tmp/a:*M,");
  st = Run();  // and then the marker is alone
  EXPECT_EQ(st.markers_removed, 1u);
  EXPECT_EQ(Versions(), "keep:k*,");
}

TEST_F(LifecycleWorkerTest, UnversionedExpirationByDateAndFilters) {
  SetRules(
      "<Rule><ID>big-scratch</ID><Filter><And><Prefix>s/</Prefix><Tag><Key>t</Key><Value>x</"
      "Value></Tag>"
      "<ObjectSizeGreaterThan>1000</ObjectSizeGreaterThan></And></Filter><Status>Enabled</Status>"
      "<Expiration><Date>2023-11-20T00:00:00Z</Date></Expiration></Rule>"
      "<Rule><ID>off</ID><Status>Disabled</Status><Expiration><Days>1</Days></Expiration></Rule>");
  Put("s/big", "1", {{"t", "x"}}, 5000);
  Put("s/small", "2", {{"t", "x"}}, 10);
  Put("s/untagged", "3", {}, 5000);
  Put("other", "4", {{"t", "x"}}, 5000);
  EXPECT_EQ(Run().expired, 0u);  // before the date
  clock_.Set(*ParseIso8601("2023-11-20T00:00:01Z"));
  EXPECT_EQ(Run().expired, 1u);
  EXPECT_EQ(Versions(), "other:4*,s/small:2*,s/untagged:3*,");
  // x-amz-expiration's value for a current version.
  auto c =
      ParseLifecycle(Rules("<Rule><ID>r1</ID><Status>Enabled</Status><Expiration><Days>3</Days>"
                           "</Expiration></Rule>"));
  meta::ObjectMeta m;
  m.mtime_micros = *ParseIso8601("2014-01-15T10:30:00Z");
  auto e = ExpiryOf(*c, "k", m);
  ASSERT_TRUE(e);
  EXPECT_EQ(ExpirationHeader(*e), "expiry-date=\"Sun, 19 Jan 2014 00:00:00 GMT\", rule-id=\"r1\"");
}

TEST_F(LifecycleWorkerTest, AbortsStaleUploads) {
  SetRules(
      "<Rule><ID>mpu</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status>"
      "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation>"
      "</AbortIncompleteMultipartUpload></Rule>");
  meta::UploadInfo old{"0123456789abcdef0123456789abcdef"_u, "big"_k, clock_.NowMicros()};
  ASSERT_TRUE(index_.CreateUpload("b"_b, old).ok());
  ASSERT_TRUE(
      index_.PutPart("b"_b, "big"_k, old.upload_id, {1, 5, "e", 1, "part-data"}, nullptr).ok());
  clock_.Advance(3 * kDay);
  meta::UploadInfo fresh{"fedcba9876543210fedcba9876543210"_u, "new"_k, clock_.NowMicros()};
  ASSERT_TRUE(index_.CreateUpload("b"_b, fresh).ok());
  EXPECT_EQ(Run().uploads_aborted, 1u);
  auto left = index_.ListUploads("b"_b, {});
  ASSERT_EQ(left->uploads.size(), 1u);
  EXPECT_EQ(left->uploads[0].key, "new");
  EXPECT_FALSE(*index_.IsReferenced("part-data"));
}

TEST_F(LifecycleWorkerTest, ObjectLockWins) {
  ASSERT_TRUE(index_.SetBucketVersioning("b"_b, meta::Versioning::kEnabled).ok());
  meta::ObjectLockConfig lock;
  lock.enabled = true;
  ASSERT_TRUE(index_.SetBucketObjectLock("b"_b, lock).ok());
  SetRules(
      "<Rule><ID>all</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status>"
      "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></"
      "NoncurrentVersionExpiration></Rule>");
  meta::ObjectMeta m;
  m.etag = "locked";
  m.mtime_micros = clock_.NowMicros();
  m.version = VersionId::Of(static_cast<uint64_t>(m.mtime_micros), 99);
  m.retention = {"COMPLIANCE", clock_.NowMicros() + 30 * kDay};
  ASSERT_TRUE(index_.PutObject("b"_b, "k"_k, m, {}, nullptr).ok());
  clock_.Advance(1000);
  Put("k", "newer");
  clock_.Advance(5 * kDay);
  LifecycleStats st = Run();
  EXPECT_EQ(st.locked, 1u);
  EXPECT_EQ(st.noncurrent_removed, 0u);
  EXPECT_EQ(Versions(), "k:newer*,k:locked,");
  clock_.Advance(30 * kDay);  // the retention has passed
  EXPECT_EQ(Run().noncurrent_removed, 1u);
}

TEST_F(LifecycleWorkerTest, SnapshotsKeepWhatTheyShow) {
  // compat: snapshots
  ASSERT_TRUE(index_.SetBucketVersioning("b"_b, meta::Versioning::kEnabled).ok());
  SetRules(
      "<Rule><ID>all</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status>"
      "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></"
      "NoncurrentVersionExpiration></Rule>");
  Put("k", "pinned");
  clock_.Advance(1000);
  ASSERT_TRUE(index_.CreateSnapshot("b"_b, "run-1"_b, clock_.NowMicros(), "o").ok());
  clock_.Advance(1000);
  Put("k", "newer");
  clock_.Advance(5 * kDay);
  LifecycleStats st = Run();
  EXPECT_EQ(st.locked, 1u);  // the snapshot holds "pinned"
  EXPECT_EQ(Versions(), "k:newer*,k:pinned,");
  ASSERT_TRUE(index_.DeleteSnapshot("run-1"_b).ok());
  EXPECT_EQ(Run().noncurrent_removed, 1u);
  EXPECT_EQ(Versions(), "k:newer*,");
}

TEST_F(LifecycleWorkerTest, PacesBetweenPagesAndBoundsMemory) {
  ASSERT_TRUE(index_.SetBucketVersioning("b"_b, meta::Versioning::kEnabled).ok());
  SetRules(
      "<Rule><ID>hot</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status>"
      "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>5"
      "</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>");
  for (int i = 0; i < 2500; i++) {
    Put("hot", std::to_string(i));
    clock_.Advance(10);
  }
  clock_.Advance(2 * kDay);
  pages_ = 0;
  LifecycleStats st = Run();
  EXPECT_EQ(st.versions_seen, 2500u);
  EXPECT_EQ(st.noncurrent_removed, 2500u - 6);  // one key's versions span three pages
  EXPECT_GE(pages_, 3);
  auto left = index_.ListObjectVersions("b"_b, {});
  EXPECT_EQ(left->entries.size(), 6u);
}

}  // namespace
}  // namespace sluice::s3
