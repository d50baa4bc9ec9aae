// The conformance kit for meta::Index: every implementation must pass it. Today that is
// every backend of tests/testutil/index_fixture.h (KvIndex over MemKv and RocksDB today).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>

#include "meta/kv/kv_index.h"
#include "meta/kv/mem_kv.h"
#include "testutil/index_fixture.h"
#include "testutil/names.h"

namespace sluice::meta {
namespace {

using namespace sluice::testing_names;  // NOLINT

class IndexConformance : public IndexFixture {
 protected:
  IndexConformance() : IndexFixture(true) {}
  void Put(const std::string& key, std::string data_id = "") {
    ObjectMeta m;
    m.etag = "e";
    m.size = 1;
    if (!data_id.empty()) m.segments.push_back({data_id, 1, ""});
    ASSERT_TRUE(index_->PutObject("bkt"_b, K(key), m, {}, nullptr).ok()) << key;
  }
  std::string List(ListQuery q) {
    auto p = index_->ListObjects("bkt"_b, q);
    EXPECT_TRUE(p.ok());
    std::string out;
    for (auto& e : p->objects) out += e.key + ",";
    for (auto& c : p->common_prefixes) out += "[" + c + "],";
    if (p->truncated) out += "+" + p->next_marker;
    return out;
  }
};

TEST_P(IndexConformance, Buckets) {
  EXPECT_EQ(index_->CreateBucket({"bkt"_b, 2, "o", ""}).code(), Err::kBucketAlreadyOwnedByYou);
  ASSERT_TRUE(index_->CreateBucket({"a"_b, 2, "o", ""}).ok());
  auto list = index_->ListBuckets();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "a");
  EXPECT_EQ(index_->GetBucket("zz"_b).status().code(), Err::kNoSuchBucket);
  Put("k");
  EXPECT_EQ(index_->DeleteBucket("bkt"_b).code(), Err::kBucketNotEmpty);
  ASSERT_TRUE(index_->DeleteObject("bkt"_b, "k"_k, {}, nullptr).ok());
  ASSERT_TRUE(index_->DeleteBucket("bkt"_b).ok());
  EXPECT_EQ(index_->DeleteBucket("bkt"_b).code(), Err::kNoSuchBucket);
  ObjectMeta m;
  EXPECT_EQ(index_->PutObject("bkt"_b, "k"_k, m, {}, nullptr).status().code(), Err::kNoSuchBucket);
}

TEST_P(IndexConformance, ObjectsAndRefs) {
  EXPECT_EQ(index_->GetObject("bkt"_b, "k"_k).status().code(), Err::kNoSuchKey);
  EXPECT_EQ(index_->GetObject("nob"_b, "k"_k).status().code(), Err::kNoSuchBucket);
  Put("k", "d1");
  // Asked with the owner the data was created for, as recovery asks (KvIndex can also answer
  // by id alone; the RADOS index looks in the owner's bucket and needs it).
  const std::string owner = DataOwner{"bkt"_b, "k"_k, {}}.Encode();
  EXPECT_TRUE(*index_->IsReferenced("d1", owner));
  EXPECT_FALSE(*index_->IsReferenced("d9", owner));
  std::vector<std::string> released;
  ObjectMeta m;
  m.segments.push_back({"d2", 1, ""});
  ASSERT_TRUE(index_->PutObject("bkt"_b, "k"_k, m, {}, &released).ok());
  EXPECT_EQ(released, std::vector<std::string>{"d1"});
  EXPECT_FALSE(*index_->IsReferenced("d1", owner));
  EXPECT_TRUE(*index_->IsReferenced("d2", owner));
  EXPECT_EQ(*index_->PendingGc(10), std::vector<std::string>{"d1"});
  ASSERT_TRUE(index_->GcDone({"d1"}).ok());
  EXPECT_TRUE(index_->PendingGc(10)->empty());
  released.clear();
  ASSERT_TRUE(index_->DeleteObject("bkt"_b, "k"_k, {}, &released).ok());
  EXPECT_EQ(released, std::vector<std::string>{"d2"});
  EXPECT_TRUE(index_->DeleteObject("bkt"_b, "k"_k, {}, nullptr).ok());  // absent: still OK
}

TEST_P(IndexConformance, WriteConditions) {
  WriteCondition none;
  none.if_none_match_any = true;
  ObjectMeta m;
  m.etag = "v1";
  ASSERT_TRUE(index_->PutObject("bkt"_b, "k"_k, m, none, nullptr).ok());
  EXPECT_EQ(index_->PutObject("bkt"_b, "k"_k, m, none, nullptr).status().code(),
            Err::kPreconditionFailed);
  WriteCondition match;
  match.if_match = "v1";
  m.etag = "v2";
  ASSERT_TRUE(index_->PutObject("bkt"_b, "k"_k, m, match, nullptr).ok());
  EXPECT_EQ(index_->PutObject("bkt"_b, "k"_k, m, match, nullptr).status().code(),
            Err::kPreconditionFailed);
  EXPECT_EQ(index_->PutObject("bkt"_b, "other"_k, m, match, nullptr).status().code(),
            Err::kNoSuchKey);
}

// GetObjects (BatchGet's lookups) answers for each key exactly what GetObject answers: an
// object (its inline bytes whole, long enough that a RADOS index splits the record), a
// missing key, a delete marker on top, and a missing bucket for every key.
TEST_P(IndexConformance, GetObjectsAnswersWhatGetObjectAnswersInOrder) {
  ObjectMeta small;
  small.etag = "s";
  small.size = 3000;
  small.inline_data = std::string(3000, 'x');
  ASSERT_TRUE(index_->PutObject("bkt"_b, "small"_k, small, {}, nullptr).ok());
  Put("file", "d1");
  ASSERT_TRUE(index_->CreateBucket({"ver"_b, 2, "o", ""}).ok());
  ASSERT_TRUE(index_->SetBucketVersioning("ver"_b, Versioning::kEnabled).ok());
  ObjectMeta m;
  m.etag = "v";
  m.version = VersionId::Of(1000, 1);
  ASSERT_TRUE(index_->PutObject("ver"_b, "gone"_k, m, {}, nullptr).ok());
  DeleteRequest del;
  del.marker = VersionId::Of(2000, 2);
  ASSERT_TRUE(index_->DeleteObject("ver"_b, "gone"_k, del, nullptr).ok());
  ASSERT_TRUE(index_->PutObject("ver"_b, "kept"_k, m, {}, nullptr).ok());

  auto same = [&](const BucketName& b, const std::vector<ObjectKey>& keys) {
    auto batch = index_->GetObjects(b, keys);
    ASSERT_EQ(batch.size(), keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      auto one = index_->GetObject(b, keys[i]);
      ASSERT_EQ(batch[i].ok(), one.ok()) << keys[i].str() << ": " << batch[i].status().ToString();
      if (!one.ok()) {
        EXPECT_EQ(batch[i].status().code(), one.status().code()) << keys[i].str();
        continue;
      }
      EXPECT_EQ(batch[i]->etag, one->etag) << keys[i].str();
      EXPECT_EQ(batch[i]->size, one->size) << keys[i].str();
      EXPECT_EQ(batch[i]->inline_data, one->inline_data) << keys[i].str();
      EXPECT_EQ(batch[i]->segments.size(), one->segments.size()) << keys[i].str();
      EXPECT_EQ(batch[i]->version, one->version) << keys[i].str();
      EXPECT_EQ(batch[i]->delete_marker, one->delete_marker) << keys[i].str();
    }
  };
  same("bkt"_b, {"small"_k, "none"_k, "file"_k, "small"_k});
  same("ver"_b, {"gone"_k, "kept"_k, "never"_k});
  same("nob"_b, {"small"_k, "file"_k});
  EXPECT_TRUE(index_->GetObjects("bkt"_b, {}).empty());

  auto got = index_->GetObjects("bkt"_b, {"small"_k, "none"_k});
  ASSERT_TRUE(got[0].ok());
  EXPECT_EQ(got[0]->inline_data, small.inline_data);
  EXPECT_EQ(got[1].status().code(), Err::kNoSuchKey);
  got = index_->GetObjects("ver"_b, {"gone"_k});
  ASSERT_TRUE(got[0].ok());
  EXPECT_TRUE(got[0]->delete_marker);
  EXPECT_EQ(index_->GetObjects("nob"_b, {"small"_k})[0].status().code(), Err::kNoSuchBucket);
}

// compat: append
// An append's commit holds only while the object is still the one it extended: the same
// size and the same last data id (which it keeps: nothing is released). A write between is
// a conflict; a vanished object an invalid offset. The MD5 state is stored with the record.
TEST_P(IndexConformance, AppendConditions) {
  ObjectMeta m;
  m.etag = "v1";
  m.size = 5;
  m.segments.push_back({"d1", 5, ""});
  ASSERT_TRUE(index_->PutObject("bkt"_b, "log"_k, m, {}, nullptr).ok());
  WriteCondition ext;
  ext.if_extends = WriteCondition::Extends{5, "d1"};
  ObjectMeta longer = m;
  longer.size = 8;
  longer.segments.back().size = 8;
  longer.etag = "v2";
  longer.append_state = "state";
  std::vector<std::string> released;
  ASSERT_TRUE(index_->PutObject("bkt"_b, "log"_k, longer, ext, &released).ok());
  EXPECT_TRUE(released.empty()) << "the extended data stays referenced";
  EXPECT_TRUE(*index_->IsReferenced("d1", DataOwner{"bkt"_b, "log"_k, {}}.Encode()));
  auto got = index_->GetObject("bkt"_b, "log"_k);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size, 8u);
  EXPECT_EQ(got->append_state, "state");
  // The same append again: the object has moved on.
  EXPECT_EQ(index_->PutObject("bkt"_b, "log"_k, longer, ext, nullptr).status().code(),
            Err::kConditionalRequestConflict);
  // Same size, other data (a PUT replaced the object between).
  ObjectMeta other = longer;
  other.segments.back().data_id = "d2";
  ASSERT_TRUE(index_->PutObject("bkt"_b, "log"_k, other, {}, nullptr).ok());
  ext.if_extends = WriteCondition::Extends{8, "d1"};
  EXPECT_EQ(index_->PutObject("bkt"_b, "log"_k, longer, ext, nullptr).status().code(),
            Err::kConditionalRequestConflict);
  ASSERT_TRUE(index_->DeleteObject("bkt"_b, "log"_k, {}, nullptr).ok());
  EXPECT_EQ(index_->PutObject("bkt"_b, "log"_k, longer, ext, nullptr).status().code(),
            Err::kInvalidWriteOffset);
}

// compat: tar-members
// A tar object's member table is written with its record, under its first data id, read
// by name and in name order, and collected with the data.
TEST_P(IndexConformance, TarMemberTables) {
  ObjectMeta m;
  m.etag = "e";
  m.size = 4096;
  m.segments.push_back({"d1", 4096, ""});
  m.members = {{"b.jpg", 1024, 10}, {"a.cls", 512, 5}, {"b.jpg", 2048, 7}, {"c/d.txt", 3072, 0}};
  m.tar_members = 4;
  ASSERT_TRUE(index_->PutObject("bkt"_b, "s.tar"_k, m, {}, nullptr).ok());
  auto got = index_->GetObject("bkt"_b, "s.tar"_k);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->tar_members, 4u);
  EXPECT_TRUE(got->members.empty()) << "the table is kept beside the record, not in it";
  auto a = index_->GetMember("bkt"_b, "s.tar"_k, "d1", "a.cls");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->offset, 512u);
  EXPECT_EQ(a->size, 5u);
  auto b = index_->GetMember("bkt"_b, "s.tar"_k, "d1", "b.jpg");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->offset, 2048u) << "a repeated name is the later member";
  EXPECT_EQ(index_->GetMember("bkt"_b, "s.tar"_k, "d1", "zz").status().code(), Err::kNotFound);
  EXPECT_EQ(index_->GetMember("bkt"_b, "s.tar"_k, "d9", "a.cls").status().code(), Err::kNotFound);
  // GetMembers (BatchGet's) answers each name as GetMember does, in the order asked.
  auto many =
      index_->GetMembers("bkt"_b, "s.tar"_k, "d1", {"c/d.txt", "zz", "a.cls", "b.jpg", "a.cls"});
  ASSERT_EQ(many.size(), 5u);
  ASSERT_TRUE(many[0].ok());
  EXPECT_EQ(many[0]->offset, 3072u);
  EXPECT_EQ(many[1].status().code(), Err::kNotFound);
  ASSERT_TRUE(many[2].ok() && many[4].ok());
  EXPECT_EQ(many[2]->offset, 512u);
  EXPECT_EQ(many[4]->size, 5u);
  ASSERT_TRUE(many[3].ok());
  EXPECT_EQ(many[3]->offset, 2048u);
  EXPECT_EQ(index_->GetMembers("bkt"_b, "s.tar"_k, "d9", {"a.cls"})[0].status().code(),
            Err::kNotFound);
  EXPECT_TRUE(index_->GetMembers("bkt"_b, "s.tar"_k, "d1", {}).empty());
  auto page = index_->ListMembers("bkt"_b, "s.tar"_k, "d1", "", 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].name, "a.cls");
  EXPECT_EQ((*page)[1].name, "b.jpg");
  page = index_->ListMembers("bkt"_b, "s.tar"_k, "d1", "b.jpg", 10);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].name, "c/d.txt");
  EXPECT_TRUE(index_->ListMembers("bkt"_b, "s.tar"_k, "d1", "c/d.txt", 10)->empty());
  // Replaced: the old data is released, and its table goes when it is collected.
  ObjectMeta plain;
  plain.etag = "p";
  plain.size = 1;
  plain.segments.push_back({"d2", 1, ""});
  std::vector<std::string> released;
  ASSERT_TRUE(index_->PutObject("bkt"_b, "s.tar"_k, plain, {}, &released).ok());
  EXPECT_EQ(released, std::vector<std::string>{"d1"});
  EXPECT_EQ(index_->GetObject("bkt"_b, "s.tar"_k)->tar_members, 0u);
  ASSERT_TRUE(index_->GcDone({"d1"}).ok());
  EXPECT_EQ(index_->GetMember("bkt"_b, "s.tar"_k, "d1", "a.cls").status().code(), Err::kNotFound);
  EXPECT_TRUE(index_->ListMembers("bkt"_b, "s.tar"_k, "d1", "", 10)->empty());
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
    auto p = index_->ListObjects("bkt"_b, {"", "/", marker, 2});
    ASSERT_TRUE(p.ok());
    for (auto& c : p->common_prefixes) all += c + ",";
    for (auto& e : p->objects) all += e.key + ",";
    if (!p->truncated) break;
    marker = p->next_marker;
  }
  EXPECT_EQ(all, "p0/,p1/,p2/,p3/,p4/,top,");
}

TEST_P(IndexConformance, Multipart) {
  UploadInfo u{"u1"_u, "big"_k, 1, "ct", {}, {}};
  ASSERT_TRUE(index_->CreateUpload("bkt"_b, u).ok());
  EXPECT_EQ(index_->GetUpload("bkt"_b, "big"_k, "nope"_u).status().code(), Err::kNoSuchUpload);
  EXPECT_EQ(index_->GetUpload("bkt"_b, "other"_k, "u1"_u).status().code(), Err::kNoSuchUpload);
  std::vector<std::string> released;
  ASSERT_TRUE(index_->PutPart("bkt"_b, "big"_k, "u1"_u, {1, 5, "e1", 1, "p1"}, &released).ok());
  ASSERT_TRUE(index_->PutPart("bkt"_b, "big"_k, "u1"_u, {2, 5, "e2", 1, "p2"}, &released).ok());
  ASSERT_TRUE(index_->PutPart("bkt"_b, "big"_k, "u1"_u, {2, 5, "e2b", 1, "p2b"}, &released).ok());
  EXPECT_EQ(released, std::vector<std::string>{"p2"});
  ASSERT_TRUE(index_->PutPart("bkt"_b, "big"_k, "u1"_u, {3, 5, "e3", 1, "p3"}, &released).ok());
  EXPECT_EQ(index_->PutPart("bkt"_b, "big"_k, "nope"_u, {1, 1, "", 1, "x"}, nullptr).code(),
            Err::kNoSuchUpload);
  auto parts = index_->ListParts("bkt"_b, "big"_k, "u1"_u, 1, 0);
  ASSERT_TRUE(parts.ok());
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].etag, "e2b");

  UploadInfo u2{"u2"_u, "a/x"_k, 2, "", {}, {}};
  ASSERT_TRUE(index_->CreateUpload("bkt"_b, u2).ok());
  auto ul = index_->ListUploads("bkt"_b, {});
  ASSERT_TRUE(ul.ok());
  ASSERT_EQ(ul->uploads.size(), 2u);
  EXPECT_EQ(ul->uploads[0].key, "a/x");
  auto ulp = index_->ListUploads("bkt"_b, {"", "/", "", "", 1000});
  EXPECT_EQ(ulp->common_prefixes, std::vector<std::string>{"a/"});

  // Complete with parts 1 and 2: part 3 is released, 1 and 2 stay referenced.
  ObjectMeta m;
  m.segments = {{"p1", 5, "e1"}, {"p2b", 5, "e2b"}};
  m.parts_count = 2;
  released.clear();
  ASSERT_TRUE(index_->CompleteUpload("bkt"_b, "big"_k, "u1"_u, m, {}, &released).ok());
  EXPECT_EQ(released, std::vector<std::string>{"p3"});
  EXPECT_TRUE(Referenced("p1", "big"));
  EXPECT_TRUE(Referenced("p2b", "big"));
  EXPECT_FALSE(Referenced("p3", "big"));
  EXPECT_EQ(index_->GetUpload("bkt"_b, "big"_k, "u1"_u).status().code(), Err::kNoSuchUpload);
  EXPECT_EQ(index_->GetObject("bkt"_b, "big"_k)->parts_count, 2u);
  released.clear();
  ASSERT_TRUE(index_->PutPart("bkt"_b, "a/x"_k, "u2"_u, {1, 5, "e", 1, "q1"}, nullptr).ok());
  ASSERT_TRUE(index_->AbortUpload("bkt"_b, "a/x"_k, "u2"_u, &released).ok());
  EXPECT_EQ(released, std::vector<std::string>{"q1"});
  EXPECT_TRUE(index_->ListUploads("bkt"_b, {})->uploads.empty());
}

// compat: complete-idempotent
TEST_P(IndexConformance, CompletedUploadsAreRecordedThenDropped) {
  EXPECT_EQ(index_->GetCompletedUpload("bkt"_b, "u1"_u).status().code(), Err::kNoSuchUpload);
  auto complete = [&](const std::string& id, const std::string& key, int64_t at) {
    ASSERT_TRUE(index_->CreateUpload("bkt"_b, {U(id), K(key), at, "", {}, {}}).ok());
    ASSERT_TRUE(
        index_->PutPart("bkt"_b, K(key), U(id), {1, 5, "e" + id, 1, "d" + id}, nullptr).ok());
    ObjectMeta m;
    m.segments = {{"d" + id, 5, "e" + id}};
    m.parts_count = 1;
    m.etag = "etag-" + id;
    m.checksum_algo = "CRC32";
    m.checksum_value = "AAAAAA==-1";
    m.checksum_type = "COMPOSITE";
    m.mtime_micros = at;
    ASSERT_TRUE(index_->CompleteUpload("bkt"_b, K(key), U(id), m, {}, nullptr).ok());
  };
  complete("u1", "k1", 1000);
  auto c = index_->GetCompletedUpload("bkt"_b, "u1"_u);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->bucket, "bkt");
  EXPECT_EQ(c->key, "k1");
  EXPECT_EQ(c->etag, "etag-u1");
  EXPECT_EQ(c->checksum_value, "AAAAAA==-1");
  EXPECT_EQ(c->checksum_type, "COMPOSITE");
  EXPECT_EQ(c->completed_micros, 1000);
  // Within the retention the record stays; a Complete past it drops the old one.
  complete("u2", "k2", 1000 + kCompletedUploadRetentionMicros);
  EXPECT_TRUE(index_->GetCompletedUpload("bkt"_b, "u1"_u).ok());
  complete("u3", "k3", 1001 + kCompletedUploadRetentionMicros);
  EXPECT_EQ(index_->GetCompletedUpload("bkt"_b, "u1"_u).status().code(), Err::kNoSuchUpload);
  EXPECT_TRUE(index_->GetCompletedUpload("bkt"_b, "u2"_u).ok());
  EXPECT_TRUE(index_->GetCompletedUpload("bkt"_b, "u3"_u).ok());
  EXPECT_EQ(index_->GetCompletedUpload("other"_b, "u3"_u).status().code(), Err::kNoSuchUpload);
}

TEST_P(IndexConformance, DeleteBucketAbortsUploads) {
  ASSERT_TRUE(index_->CreateUpload("bkt"_b, {"u1"_u, "k"_k, 1, "", {}, {}}).ok());
  ASSERT_TRUE(index_->PutPart("bkt"_b, "k"_k, "u1"_u, {1, 5, "e", 1, "d"}, nullptr).ok());
  ASSERT_TRUE(index_->DeleteBucket("bkt"_b).ok());
  EXPECT_FALSE(Referenced("d"));
  EXPECT_EQ(*index_->PendingGc(10), std::vector<std::string>{"d"});
}

TEST_P(IndexConformance, Tags) {
  Put("k");
  ASSERT_TRUE(index_->SetObjectTags("bkt"_b, "k"_k, {}, {{"a", "1"}}).ok());
  EXPECT_EQ(index_->GetObject("bkt"_b, "k"_k)->tags.size(), 1u);
  EXPECT_EQ(index_->SetObjectTags("bkt"_b, "nope"_k, {}, {}).code(), Err::kNoSuchKey);
}

TEST_P(IndexConformance, BucketConfigs) {
  EXPECT_EQ(index_->GetBucketConfig("bkt"_b, "cors").status().code(), Err::kNotFound);
  ASSERT_TRUE(index_->PutBucketConfig("bkt"_b, "cors", "<doc/>").ok());
  ASSERT_TRUE(index_->PutBucketConfig("bkt"_b, "policy", "{}").ok());
  EXPECT_EQ(*index_->GetBucketConfig("bkt"_b, "cors"), "<doc/>");
  ASSERT_TRUE(index_->PutBucketConfig("bkt"_b, "cors", "<new/>").ok());
  EXPECT_EQ(*index_->GetBucketConfig("bkt"_b, "cors"), "<new/>");
  ASSERT_TRUE(index_->DeleteBucketConfig("bkt"_b, "cors").ok());
  EXPECT_EQ(index_->GetBucketConfig("bkt"_b, "cors").status().code(), Err::kNotFound);
  EXPECT_EQ(index_->PutBucketConfig("nope"_b, "cors", "x").code(), Err::kNoSuchBucket);
  EXPECT_EQ(index_->GetBucketConfig("nope"_b, "cors").status().code(), Err::kNoSuchBucket);
  // Configurations go with their bucket: a new bucket of the same name starts bare.
  ASSERT_TRUE(index_->DeleteBucket("bkt"_b).ok());
  ASSERT_TRUE(index_->CreateBucket({"bkt"_b, 1, "o", "r"}).ok());
  EXPECT_EQ(index_->GetBucketConfig("bkt"_b, "policy").status().code(), Err::kNotFound);
  // Not listed as objects, not mistaken for buckets.
  EXPECT_TRUE(index_->ListObjects("bkt"_b, {})->objects.empty());
  EXPECT_EQ(index_->ListBuckets()->size(), 1u);
}

// Every listener hears each committed change to a bucket's record or configuration and to
// a documents' namespace, once per namespace a write touches; a refused change is not heard.
TEST_P(IndexConformance, ListenersHearCommittedChanges) {
  std::mutex mu;
  std::vector<std::string> heard[2];
  for (int i = 0; i < 2; i++)
    index_->Subscribe([&, i](const Index::Change& c) {
      std::lock_guard l(mu);
      heard[i].push_back((c.kind == Index::Change::Kind::kBucket ? "bucket:" : "docs:") + c.name +
                         (c.local ? "" : "(remote)"));
    });
  ASSERT_TRUE(index_->PutBucketConfig("bkt"_b, "policy", "{}").ok());
  EXPECT_EQ(index_->PutBucketConfig("nope"_b, "policy", "{}").code(), Err::kNoSuchBucket);
  ASSERT_TRUE(index_->DeleteBucketConfig("bkt"_b, "policy").ok());
  ASSERT_TRUE(index_->SetBucketVersioning("bkt"_b, Versioning::kEnabled).ok());
  ASSERT_TRUE(index_->CreateBucket({"c"_b, 1, "o", "r"}).ok());
  EXPECT_EQ(index_->CreateBucket({"c"_b, 1, "o", "r"}).code(), Err::kBucketAlreadyOwnedByYou);
  ASSERT_TRUE(index_->CreateSnapshot("bkt"_b, "snap"_b, 5, "o").ok());
  ASSERT_TRUE(index_->DeleteSnapshot("snap"_b).ok());
  ASSERT_TRUE(index_->DeleteBucket("c"_b).ok());
  ASSERT_TRUE(
      index_->WriteDocs({{"users", "u1", "{}"}, {"users", "u2", "{}"}, {"keys", "k", "{}"}}).ok());
  const std::vector<std::string> want = {"bucket:bkt", "bucket:bkt",  "bucket:bkt",
                                         "bucket:c",   "bucket:snap", "bucket:snap",
                                         "bucket:c",   "docs:users",  "docs:keys"};
  EXPECT_EQ(heard[0], want);
  EXPECT_EQ(heard[1], want);
}

TEST_P(IndexConformance, UsageIsKeptByEveryWriteAndFolded) {
  auto usage = [&] {
    auto u = index_->GetBucketUsage("bkt"_b);
    EXPECT_TRUE(u.ok()) << u.status().ToString();
    return u.ok() ? *u : BucketUsage{-1, -1, -1, -1};
  };
  EXPECT_TRUE(usage().empty());
  // More writes than a read lets wait before it folds them, then more after the fold.
  const int n = static_cast<int>(KvIndex::kFoldUsageAfter) + 36;
  for (int i = 0; i < n; i++) Put("k" + std::to_string(i));
  BucketUsage u = usage();  // reads, then folds
  EXPECT_EQ(u.objects, n);
  EXPECT_EQ(u.bytes, n);
  EXPECT_EQ(u.versions, n);
  EXPECT_EQ(u.version_bytes, n);
  ObjectMeta big;
  big.etag = "e";
  big.size = 1000;
  ASSERT_TRUE(index_->PutObject("bkt"_b, "k0"_k, big, {}, nullptr).ok());  // replaces 1 byte
  ASSERT_TRUE(index_->DeleteObject("bkt"_b, "k1"_k, {}, nullptr).ok());
  u = usage();
  EXPECT_EQ(u.objects, n - 1);
  EXPECT_EQ(u.bytes, n - 2 + 1000);
  EXPECT_EQ(usage().objects, n - 1);  // a second read finds the same
  EXPECT_EQ(index_->GetBucketUsage("nope"_b).status().code(), Err::kNoSuchBucket);
  // A bucket made again under the same name starts from nothing.
  for (int i = 0; i < n; i++)
    ASSERT_TRUE(index_->DeleteObject("bkt"_b, K("k" + std::to_string(i)), {}, nullptr).ok());
  EXPECT_TRUE(usage().empty());
  ASSERT_TRUE(index_->DeleteBucket("bkt"_b).ok());
  ASSERT_TRUE(index_->CreateBucket({"bkt"_b, 2, "o", ""}).ok());
  EXPECT_TRUE(usage().empty());
  Put("again");
  EXPECT_EQ(usage().objects, 1);
  ASSERT_TRUE(index_->RecountUsage("bkt"_b).ok());
  EXPECT_EQ(usage().objects, 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, IndexConformance, IndexBackends(), BackendName);

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

// A KvStore that counts its iterators' steps, to show what a listing costs and not only
// what it returns.
class CountingKv final : public KvStore {
 public:
  Status Get(std::string_view key, std::string* value) override { return kv_.Get(key, value); }
  Status Write(const KvBatch& batch, bool sync) override { return kv_.Write(batch, sync); }
  std::unique_ptr<KvIterator> NewIterator() override {
    return std::make_unique<Counting>(kv_.NewIterator(), &steps_);
  }
  uint64_t Steps() const { return steps_; }
  void Reset() { steps_ = 0; }

 private:
  class Counting final : public KvIterator {
   public:
    Counting(std::unique_ptr<KvIterator> it, uint64_t* steps) : it_(std::move(it)), steps_(steps) {}
    void Seek(std::string_view key) override { ++*steps_, it_->Seek(key); }
    bool Valid() const override { return it_->Valid(); }
    void Next() override { ++*steps_, it_->Next(); }
    std::string_view key() const override { return it_->key(); }
    std::string_view value() const override { return it_->value(); }
    std::string_view head() const override { return it_->head(); }
    Status status() const override { return it_->status(); }

   private:
    std::unique_ptr<KvIterator> it_;
    uint64_t* steps_;
  };
  MemKv kv_;
  uint64_t steps_ = 0;
};

// A delimiter listing seeks past each common prefix instead of walking its keys: 5
// prefixes of 400 keys each cost a few steps per prefix, in one page or in pages of two.
TEST(KvIndexListing, DelimiterPagingSeeksPastWholePrefixes) {
  CountingKv kv;
  KvIndex index(&kv, false);
  ASSERT_TRUE(index.CreateBucket({"bkt"_b, 1, "o", ""}).ok());
  ObjectMeta m;
  m.etag = "e";
  m.size = 1;
  for (int p = 0; p < 5; p++)
    for (int k = 0; k < 400; k++)
      ASSERT_TRUE(index
                      .PutObject("bkt"_b, K("p" + std::to_string(p) + "/k" + std::to_string(k)), m,
                                 {}, nullptr)
                      .ok());
  ASSERT_TRUE(index.PutObject("bkt"_b, "top"_k, m, {}, nullptr).ok());
  kv.Reset();
  auto one = index.ListObjects("bkt"_b, {"", "/", "", 1000});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->common_prefixes, (std::vector<std::string>{"p0/", "p1/", "p2/", "p3/", "p4/"}));
  ASSERT_EQ(one->objects.size(), 1u);
  const uint64_t whole = kv.Steps();
  EXPECT_LT(whole, 30u) << "a walk over the 2,000 keys under the prefixes would take 2,000";
  kv.Reset();
  std::string marker, all;
  for (int page = 0; page < 10; page++) {
    auto p = index.ListObjects("bkt"_b, {"", "/", marker, 2});
    ASSERT_TRUE(p.ok());
    for (auto& c : p->common_prefixes) all += c + ",";
    for (auto& e : p->objects) all += e.key + ",";
    if (!p->truncated) break;
    marker = p->next_marker;
  }
  EXPECT_EQ(all, "p0/,p1/,p2/,p3/,p4/,top,");
  EXPECT_LT(kv.Steps(), 40u);
  std::printf(
      "delimiter listing over 2,001 keys: %llu iterator steps in one page, %llu in pages of two\n",
      static_cast<unsigned long long>(whole), static_cast<unsigned long long>(kv.Steps()));
}

}  // namespace
}  // namespace sluice::meta
