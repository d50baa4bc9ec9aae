// The conformance kit for meta::Index: every implementation must pass it. Today that is
// KvIndex over MemKv and over RocksDB; the RADOS omap index will join.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <memory>

#include "meta/kv/kv_index.h"
#include "meta/kv/mem_kv.h"

namespace sluice::meta {
namespace {

struct Backend {
  std::string name;
  std::function<std::unique_ptr<KvStore>(const std::string& dir)> open;
};

class IndexConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-index-XXXXXX";
    dir_ = mkdtemp(tmpl);
    kv_ = GetParam().open(dir_);
    index_ = std::make_unique<KvIndex>(kv_.get(), true);
    ASSERT_TRUE(index_->CreateBucket({"b", 1, "o", "us-east-1"}).ok());
  }
  void TearDown() override {
    index_.reset();
    kv_.reset();
    std::system(("rm -rf " + dir_).c_str());
  }
  void Put(const std::string& key, std::string data_id = "") {
    ObjectMeta m;
    m.etag = "e";
    m.size = 1;
    if (!data_id.empty()) m.segments.push_back({data_id, 1, ""});
    ASSERT_TRUE(index_->PutObject("b", key, m, {}, nullptr).ok()) << key;
  }
  std::string List(ListQuery q) {
    auto p = index_->ListObjects("b", q);
    EXPECT_TRUE(p.ok());
    std::string out;
    for (auto& e : p->objects) out += e.key + ",";
    for (auto& c : p->common_prefixes) out += "[" + c + "],";
    if (p->truncated) out += "+" + p->next_marker;
    return out;
  }
  std::string dir_;
  std::unique_ptr<KvStore> kv_;
  std::unique_ptr<KvIndex> index_;
};

TEST_P(IndexConformance, Buckets) {
  EXPECT_EQ(index_->CreateBucket({"b", 2, "o", ""}).code(), Err::kBucketAlreadyOwnedByYou);
  ASSERT_TRUE(index_->CreateBucket({"a", 2, "o", ""}).ok());
  auto list = index_->ListBuckets();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "a");
  EXPECT_EQ(index_->GetBucket("zz").status().code(), Err::kNoSuchBucket);
  Put("k");
  EXPECT_EQ(index_->DeleteBucket("b").code(), Err::kBucketNotEmpty);
  ASSERT_TRUE(index_->DeleteObject("b", "k", nullptr).ok());
  ASSERT_TRUE(index_->DeleteBucket("b").ok());
  EXPECT_EQ(index_->DeleteBucket("b").code(), Err::kNoSuchBucket);
  ObjectMeta m;
  EXPECT_EQ(index_->PutObject("b", "k", m, {}, nullptr).code(), Err::kNoSuchBucket);
}

TEST_P(IndexConformance, ObjectsAndRefs) {
  EXPECT_EQ(index_->GetObject("b", "k").status().code(), Err::kNoSuchKey);
  EXPECT_EQ(index_->GetObject("nob", "k").status().code(), Err::kNoSuchBucket);
  Put("k", "d1");
  EXPECT_TRUE(*index_->IsReferenced("d1"));
  std::vector<std::string> released;
  ObjectMeta m;
  m.segments.push_back({"d2", 1, ""});
  ASSERT_TRUE(index_->PutObject("b", "k", m, {}, &released).ok());
  EXPECT_EQ(released, std::vector<std::string>{"d1"});
  EXPECT_FALSE(*index_->IsReferenced("d1"));
  EXPECT_EQ(*index_->PendingGc(10), std::vector<std::string>{"d1"});
  ASSERT_TRUE(index_->GcDone({"d1"}).ok());
  EXPECT_TRUE(index_->PendingGc(10)->empty());
  released.clear();
  ASSERT_TRUE(index_->DeleteObject("b", "k", &released).ok());
  EXPECT_EQ(released, std::vector<std::string>{"d2"});
  EXPECT_TRUE(index_->DeleteObject("b", "k", nullptr).ok());  // absent: still OK
}

TEST_P(IndexConformance, WriteConditions) {
  WriteCondition none;
  none.if_none_match_any = true;
  ObjectMeta m;
  m.etag = "v1";
  ASSERT_TRUE(index_->PutObject("b", "k", m, none, nullptr).ok());
  EXPECT_EQ(index_->PutObject("b", "k", m, none, nullptr).code(), Err::kPreconditionFailed);
  WriteCondition match;
  match.if_match = "v1";
  m.etag = "v2";
  ASSERT_TRUE(index_->PutObject("b", "k", m, match, nullptr).ok());
  EXPECT_EQ(index_->PutObject("b", "k", m, match, nullptr).code(), Err::kPreconditionFailed);
  EXPECT_EQ(index_->PutObject("b", "other", m, match, nullptr).code(), Err::kNoSuchKey);
}

TEST_P(IndexConformance, ListingOrderPrefixAndMarkers) {
  for (auto k : {"a", "b/1", "b/2", "b/c/3", "c", "\xc3\xa9", "a/"}) Put(k);
  EXPECT_EQ(List({}), "a,a/,b/1,b/2,b/c/3,c,\xc3\xa9,");
  EXPECT_EQ(List({"b/", "", "", 1000}), "b/1,b/2,b/c/3,");
  EXPECT_EQ(List({"", "/", "", 1000}), "a,c,\xc3\xa9,[a/],[b/],");
  EXPECT_EQ(List({"b/", "/", "", 1000}), "b/1,b/2,[b/c/],");
  EXPECT_EQ(List({"", "", "b/1", 1000}), "b/2,b/c/3,c,\xc3\xa9,");
  EXPECT_EQ(List({"", "", "", 2}), "a,a/,+a/");
  EXPECT_EQ(List({"", "", "zzz", 1000}), "\xc3\xa9,");
  EXPECT_EQ(List({"", "", "", 0}), "");
  EXPECT_EQ(List({"nomatch", "", "", 1000}), "");
}

TEST_P(IndexConformance, DelimiterPagingSkipsWholePrefixes) {
  for (int p = 0; p < 5; p++)
    for (int k = 0; k < 20; k++) Put("p" + std::to_string(p) + "/k" + std::to_string(k));
  Put("top");
  // Pages of two, resuming from the common prefix returned last.
  std::string all, marker;
  for (int page = 0; page < 10; page++) {
    auto p = index_->ListObjects("b", {"", "/", marker, 2});
    ASSERT_TRUE(p.ok());
    for (auto& c : p->common_prefixes) all += c + ",";
    for (auto& e : p->objects) all += e.key + ",";
    if (!p->truncated) break;
    marker = p->next_marker;
  }
  EXPECT_EQ(all, "p0/,p1/,p2/,p3/,p4/,top,");
}

TEST_P(IndexConformance, Multipart) {
  UploadInfo u{"u1", "big", 1, "ct", {}, {}};
  ASSERT_TRUE(index_->CreateUpload("b", u).ok());
  EXPECT_EQ(index_->GetUpload("b", "big", "nope").status().code(), Err::kNoSuchUpload);
  EXPECT_EQ(index_->GetUpload("b", "other", "u1").status().code(), Err::kNoSuchUpload);
  std::vector<std::string> released;
  ASSERT_TRUE(index_->PutPart("b", "big", "u1", {1, 5, "e1", 1, "p1"}, &released).ok());
  ASSERT_TRUE(index_->PutPart("b", "big", "u1", {2, 5, "e2", 1, "p2"}, &released).ok());
  ASSERT_TRUE(index_->PutPart("b", "big", "u1", {2, 5, "e2b", 1, "p2b"}, &released).ok());
  EXPECT_EQ(released, std::vector<std::string>{"p2"});
  ASSERT_TRUE(index_->PutPart("b", "big", "u1", {3, 5, "e3", 1, "p3"}, &released).ok());
  EXPECT_EQ(index_->PutPart("b", "big", "nope", {1, 1, "", 1, "x"}, nullptr).code(), Err::kNoSuchUpload);
  auto parts = index_->ListParts("u1", 1, 0);
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].etag, "e2b");

  UploadInfo u2{"u2", "a/x", 2, "", {}, {}};
  ASSERT_TRUE(index_->CreateUpload("b", u2).ok());
  auto ul = index_->ListUploads("b", {});
  ASSERT_TRUE(ul.ok());
  ASSERT_EQ(ul->uploads.size(), 2u);
  EXPECT_EQ(ul->uploads[0].key, "a/x");
  auto ulp = index_->ListUploads("b", {"", "/", "", "", 1000});
  EXPECT_EQ(ulp->common_prefixes, std::vector<std::string>{"a/"});

  // Complete with parts 1 and 2: part 3 is released, 1 and 2 stay referenced.
  ObjectMeta m;
  m.segments = {{"p1", 5, "e1"}, {"p2b", 5, "e2b"}};
  m.parts_count = 2;
  released.clear();
  ASSERT_TRUE(index_->CompleteUpload("b", "big", "u1", m, {}, &released).ok());
  EXPECT_EQ(released, std::vector<std::string>{"p3"});
  EXPECT_TRUE(*index_->IsReferenced("p1"));
  EXPECT_TRUE(*index_->IsReferenced("p2b"));
  EXPECT_FALSE(*index_->IsReferenced("p3"));
  EXPECT_EQ(index_->GetUpload("b", "big", "u1").status().code(), Err::kNoSuchUpload);
  EXPECT_EQ(index_->GetObject("b", "big")->parts_count, 2u);
  released.clear();
  ASSERT_TRUE(index_->PutPart("b", "a/x", "u2", {1, 5, "e", 1, "q1"}, nullptr).ok());
  ASSERT_TRUE(index_->AbortUpload("b", "a/x", "u2", &released).ok());
  EXPECT_EQ(released, std::vector<std::string>{"q1"});
  EXPECT_TRUE(index_->ListUploads("b", {})->uploads.empty());
}

// compat: complete-idempotent
TEST_P(IndexConformance, CompletedUploadsAreRecordedThenDropped) {
  EXPECT_EQ(index_->GetCompletedUpload("u1").status().code(), Err::kNoSuchUpload);
  auto complete = [&](const std::string& id, const std::string& key, int64_t at) {
    ASSERT_TRUE(index_->CreateUpload("b", {id, key, at, "", {}, {}}).ok());
    ASSERT_TRUE(index_->PutPart("b", key, id, {1, 5, "e" + id, 1, "d" + id}, nullptr).ok());
    ObjectMeta m;
    m.segments = {{"d" + id, 5, "e" + id}};
    m.parts_count = 1;
    m.etag = "etag-" + id;
    m.checksum_algo = "CRC32";
    m.checksum_value = "AAAAAA==-1";
    m.checksum_type = "COMPOSITE";
    m.mtime_micros = at;
    ASSERT_TRUE(index_->CompleteUpload("b", key, id, m, {}, nullptr).ok());
  };
  complete("u1", "k1", 1000);
  auto c = index_->GetCompletedUpload("u1");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->bucket, "b");
  EXPECT_EQ(c->key, "k1");
  EXPECT_EQ(c->etag, "etag-u1");
  EXPECT_EQ(c->checksum_value, "AAAAAA==-1");
  EXPECT_EQ(c->checksum_type, "COMPOSITE");
  EXPECT_EQ(c->completed_micros, 1000);
  // Within the retention the record stays; a Complete past it drops the old one.
  complete("u2", "k2", 1000 + kCompletedUploadRetentionMicros);
  EXPECT_TRUE(index_->GetCompletedUpload("u1").ok());
  complete("u3", "k3", 1001 + kCompletedUploadRetentionMicros);
  EXPECT_EQ(index_->GetCompletedUpload("u1").status().code(), Err::kNoSuchUpload);
  EXPECT_TRUE(index_->GetCompletedUpload("u2").ok());
  EXPECT_TRUE(index_->GetCompletedUpload("u3").ok());
}

TEST_P(IndexConformance, DeleteBucketAbortsUploads) {
  ASSERT_TRUE(index_->CreateUpload("b", {"u1", "k", 1, "", {}, {}}).ok());
  ASSERT_TRUE(index_->PutPart("b", "k", "u1", {1, 5, "e", 1, "d"}, nullptr).ok());
  ASSERT_TRUE(index_->DeleteBucket("b").ok());
  EXPECT_FALSE(*index_->IsReferenced("d"));
  EXPECT_EQ(*index_->PendingGc(10), std::vector<std::string>{"d"});
}

TEST_P(IndexConformance, Tags) {
  Put("k");
  ASSERT_TRUE(index_->SetObjectTags("b", "k", {{"a", "1"}}).ok());
  EXPECT_EQ(index_->GetObject("b", "k")->tags.size(), 1u);
  EXPECT_EQ(index_->SetObjectTags("b", "nope", {}).code(), Err::kNoSuchKey);
}

TEST_P(IndexConformance, BucketConfigs) {
  EXPECT_EQ(index_->GetBucketConfig("b", "cors").status().code(), Err::kNotFound);
  ASSERT_TRUE(index_->PutBucketConfig("b", "cors", "<doc/>").ok());
  ASSERT_TRUE(index_->PutBucketConfig("b", "policy", "{}").ok());
  EXPECT_EQ(*index_->GetBucketConfig("b", "cors"), "<doc/>");
  ASSERT_TRUE(index_->PutBucketConfig("b", "cors", "<new/>").ok());
  EXPECT_EQ(*index_->GetBucketConfig("b", "cors"), "<new/>");
  ASSERT_TRUE(index_->DeleteBucketConfig("b", "cors").ok());
  EXPECT_EQ(index_->GetBucketConfig("b", "cors").status().code(), Err::kNotFound);
  EXPECT_EQ(index_->PutBucketConfig("nope", "cors", "x").code(), Err::kNoSuchBucket);
  EXPECT_EQ(index_->GetBucketConfig("nope", "cors").status().code(), Err::kNoSuchBucket);
  // Configurations go with their bucket: a new bucket of the same name starts bare.
  ASSERT_TRUE(index_->DeleteBucket("b").ok());
  ASSERT_TRUE(index_->CreateBucket({"b", 1, "o", "r"}).ok());
  EXPECT_EQ(index_->GetBucketConfig("b", "policy").status().code(), Err::kNotFound);
  // Not listed as objects, not mistaken for buckets.
  EXPECT_TRUE(index_->ListObjects("b", {})->objects.empty());
  EXPECT_EQ(index_->ListBuckets()->size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Backends, IndexConformance,
    ::testing::Values(
        Backend{"mem", [](const std::string&) { return std::unique_ptr<KvStore>(new MemKv()); }},
        Backend{"rocksdb",
                [](const std::string& dir) { return std::move(OpenRocksKv(dir + "/db")).value(); }}),
    [](const auto& info) { return info.param.name; });

TEST(MemKv, DropUnsyncedKeepsOnlySyncedPrefix) {
  MemKv kv;
  KvBatch a, b, c;
  a.Put("a", "1");
  b.Put("b", "2");
  c.Put("c", "3");
  ASSERT_TRUE(kv.Write(a, false).ok());
  ASSERT_TRUE(kv.Write(b, true).ok());  // makes a durable too, as a WAL sync does
  ASSERT_TRUE(kv.Write(c, false).ok());
  kv.DropUnsynced();
  std::string v;
  EXPECT_TRUE(kv.Get("a", &v).ok());
  EXPECT_TRUE(kv.Get("b", &v).ok());
  EXPECT_EQ(kv.Get("c", &v).code(), Err::kNotFound);
}

}  // namespace
}  // namespace sluice::meta
