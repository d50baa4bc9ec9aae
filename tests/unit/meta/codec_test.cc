#include "meta/kv/codec.h"

#include <gtest/gtest.h>

namespace sluice::meta::codec {
namespace {

TEST(DataOwner, RoundTripsAnyKey) {
  const std::string key = "a:b c/9:12:";  // colons and digits, as a length prefix has
  DataOwner o{BucketName::Trusted("bkt"), ObjectKey::Trusted(key), {}};
  auto back = DataOwner::Decode(o.Encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->bucket.str(), "bkt");
  EXPECT_EQ(back->key.str(), key);
  EXPECT_TRUE(back->upload.empty());
  DataOwner p{BucketName::Trusted("bkt"), ObjectKey::Trusted("k"),
              UploadId::Trusted("0123456789abcdef0123456789abcdef")};
  back = DataOwner::Decode(p.Encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->upload.str(), "0123456789abcdef0123456789abcdef");
  for (std::string_view bad : {"", "3:bk", "x:bkt1:k", "3:bkt1:kZZ", "99:bkt1:k", "2:BK1:k"})
    EXPECT_FALSE(DataOwner::Decode(bad)) << bad;
}

TEST(Codec, KeysSortLikeS3Keys) {
  // "a" < "a/b" < "a0" must hold after encoding, as it does for raw UTF-8 keys.
  EXPECT_LT(ObjectKey("b", "a"), ObjectKey("b", "a/b"));
  EXPECT_LT(ObjectKey("b", "a/b"), ObjectKey("b", "a0"));
  EXPECT_LT(ObjectKey("b", "z"), ObjectKey("b", "\xc3\xa9"));
  // Keys of one bucket never interleave with another bucket whose name extends it.
  EXPECT_LT(ObjectKey("b", "\xf4\x8f\xbf\xbf"), ObjectKey("b0", ""));
  EXPECT_EQ(ObjectKey("b", "k").substr(0, ObjectPrefix("b").size()), ObjectPrefix("b"));
  EXPECT_LT(PartKey("u", 2), PartKey("u", 10));
}

TEST(Codec, PrefixSuccessor) {
  EXPECT_EQ(PrefixSuccessor("a/"), "a0");
  EXPECT_EQ(PrefixSuccessor(std::string("a\xff", 2)), "b");
  EXPECT_EQ(PrefixSuccessor(std::string("\xff\xff", 2)), "");
}

TEST(Codec, ObjectRoundTrip) {
  ObjectMeta m;
  m.size = 123456789012;
  m.etag = "abc-3";
  m.mtime_micros = 1700000000123456;
  m.content_type = "text/plain";
  m.headers = {{"x-amz-meta-a", "1"}, {"cache-control", "no-cache"}};
  m.tags = {{"k", "v"}};
  m.segments = {{"00ff", 5, "e1"}, {"11ee", 7, "e2"}};
  m.parts_count = 2;
  m.checksum_algo = "CRC32";
  m.checksum_value = "AAAAAA==";
  m.checksum_type = "FULL_OBJECT";
  m.part_checksums = {"AQIDBA==", "BQYHCA=="};
  ObjectMeta out;
  ASSERT_TRUE(DecodeObject(EncodeObject(m), &out).ok());
  EXPECT_EQ(out.size, m.size);
  EXPECT_EQ(out.etag, m.etag);
  EXPECT_EQ(out.mtime_micros, m.mtime_micros);
  EXPECT_EQ(out.headers, m.headers);
  EXPECT_EQ(out.tags, m.tags);
  ASSERT_EQ(out.segments.size(), 2u);
  EXPECT_EQ(out.segments[1].data_id, "11ee");
  EXPECT_EQ(out.parts_count, 2u);
  EXPECT_EQ(out.checksum_type, "FULL_OBJECT");
  EXPECT_EQ(out.part_checksums, m.part_checksums);
  ObjectMeta inl;
  inl.inline_data = std::string("\0bytes", 6);
  ASSERT_TRUE(DecodeObject(EncodeObject(inl), &out).ok());
  EXPECT_EQ(out.inline_data, inl.inline_data);
}

TEST(Codec, TruncatedOrForeignRecordsAreCorruption) {
  ObjectMeta m;
  m.etag = "x";
  m.segments = {{"id", 1, ""}};
  std::string enc = EncodeObject(m);
  ObjectMeta out;
  // Cut anywhere but at the end of the original v1 fields (a record written before the
  // optional checksum fields existed), before the part checksums or before the ACL, a
  // record is corrupt.
  const size_t legacy = enc.size() - 5;  // empty algo, value, type; a 0 count; an empty ACL
  for (size_t n = 0; n < enc.size(); n++) {
    if (n == enc.size() - 1 || n == enc.size() - 2) {
      EXPECT_TRUE(DecodeObject(enc.substr(0, n), &out).ok());
      continue;
    }
    if (n == legacy) {
      EXPECT_TRUE(DecodeObject(enc.substr(0, n), &out).ok());
      EXPECT_TRUE(out.checksum_algo.empty());
      continue;
    }
    EXPECT_EQ(DecodeObject(enc.substr(0, n), &out).code(), Err::kCorruption) << n;
  }
  std::string v2 = enc;
  v2[0] = 2;
  EXPECT_EQ(DecodeObject(v2, &out).code(), Err::kCorruption);
  BucketInfo b;
  EXPECT_EQ(DecodeBucket("", &b).code(), Err::kCorruption);
}

TEST(Codec, OtherRecordsRoundTrip) {
  UploadInfo u{UploadId::Trusted("uid"),
               ObjectKey::Trusted("key"),
               5,
               "ct",
               {{"x-amz-meta-a", "b"}},
               {{"t", "v"}}};
  UploadInfo u2;
  ASSERT_TRUE(DecodeUpload(EncodeUpload(u), &u2).ok());
  EXPECT_EQ(u2.upload_id, "uid");
  EXPECT_EQ(u2.tags, u.tags);
  u.checksum_algo = "CRC64NVME";
  u.checksum_type = "FULL_OBJECT";
  ASSERT_TRUE(DecodeUpload(EncodeUpload(u), &u2).ok());
  EXPECT_EQ(u2.checksum_type, "FULL_OBJECT");
  EXPECT_TRUE(u2.encryption.empty());
  u.encryption = "1 C salt check";
  ASSERT_TRUE(DecodeUpload(EncodeUpload(u), &u2).ok());
  EXPECT_EQ(u2.encryption, "1 C salt check");
  EXPECT_EQ(u2.checksum_type, "FULL_OBJECT");
  PartInfo p{3, 99, "etag", 7, "data"};
  PartInfo p2;
  ASSERT_TRUE(DecodePart(EncodePart(p), &p2).ok());
  EXPECT_EQ(p2.number, 3u);
  EXPECT_EQ(p2.data_id, "data");
  BucketInfo b{BucketName::Trusted("name"), 1, "o", "r"}, b2;
  ASSERT_TRUE(DecodeBucket(EncodeBucket(b), &b2).ok());
  EXPECT_EQ(b2.region, "r");
}

TEST(Codec, VersionLockAndSnapshotFieldsRoundTrip) {
  ObjectMeta m;
  m.etag = "e";
  m.inline_data = "small bytes";
  m.version = VersionId::Of(1700000000000001, 42);
  m.retention = {"COMPLIANCE", 1800000000000000};
  m.legal_hold = true;
  ObjectMeta back;
  ASSERT_TRUE(DecodeObject(EncodeObject(m), &back).ok());
  EXPECT_EQ(back.version, m.version);
  EXPECT_EQ(back.retention.mode, "COMPLIANCE");
  EXPECT_EQ(back.retention.until_micros, 1800000000000000);
  EXPECT_TRUE(back.legal_hold);
  EXPECT_EQ(back.inline_data, "small bytes");
  // The latest's V record leaves its bytes to O and says so.
  bool elsewhere = false;
  ASSERT_TRUE(
      DecodeObject(EncodeObject(m, /*inline_elsewhere=*/true), &back, false, &elsewhere).ok());
  EXPECT_TRUE(elsewhere);
  EXPECT_TRUE(back.inline_data.empty());
  // A null marker; and a record from before versioning reads as unversioned.
  ObjectMeta marker;
  marker.delete_marker = true;
  marker.version = VersionId::NullAt(5, 6);
  ASSERT_TRUE(DecodeObject(EncodeObject(marker), &back).ok());
  EXPECT_TRUE(back.delete_marker);
  EXPECT_TRUE(back.version.is_null());
  EXPECT_EQ(back.version.micros(), 5u);
  ObjectMeta legacy;
  legacy.etag = "old";
  ASSERT_TRUE(DecodeObject(EncodeObject(legacy), &back).ok());
  EXPECT_TRUE(back.version.empty());
  EXPECT_FALSE(back.delete_marker);
  // An appendable object's MD5 state, alone or after the other optional groups.
  ObjectMeta appendable;
  appendable.etag = "a";
  appendable.append_state = std::string("\x01state", 6);
  ASSERT_TRUE(DecodeObject(EncodeObject(appendable), &back).ok());
  EXPECT_EQ(back.append_state, appendable.append_state);
  EXPECT_TRUE(back.version.empty());
  EXPECT_TRUE(back.retention.mode.empty());
  EXPECT_TRUE(back.replication_status.empty());
  m.append_state = "s";
  m.replication_status = "COMPLETED";
  ASSERT_TRUE(DecodeObject(EncodeObject(m), &back).ok());
  EXPECT_EQ(back.append_state, "s");
  EXPECT_EQ(back.replication_status, "COMPLETED");
  ASSERT_TRUE(DecodeObject(EncodeObject(legacy), &back).ok());
  EXPECT_TRUE(back.append_state.empty()) << "a decode clears what the record lacks";
  // A tar object's member count, alone (after empty optional groups); the table itself
  // is never part of the record.
  ObjectMeta tar;
  tar.etag = "t";
  tar.tar_members = 70000;
  tar.members = {{"a", 512, 1}};
  ASSERT_TRUE(DecodeObject(EncodeObject(tar), &back).ok());
  EXPECT_EQ(back.tar_members, 70000u);
  EXPECT_TRUE(back.members.empty());
  EXPECT_TRUE(back.append_state.empty());
  EXPECT_TRUE(back.version.empty());
  ASSERT_TRUE(DecodeObject(EncodeObject(legacy), &back).ok());
  EXPECT_EQ(back.tar_members, 0u);
  // An encrypted object's record (s3/sse.h), alone and with a version; a record from
  // before encryption reads as plain.
  ObjectMeta enc;
  enc.etag = "x";
  enc.encryption = "1 S3 salt id sealed";
  ASSERT_TRUE(DecodeObject(EncodeObject(enc), &back).ok());
  EXPECT_EQ(back.encryption, enc.encryption);
  EXPECT_EQ(back.tar_members, 0u);
  EXPECT_TRUE(back.version.empty());
  enc.version = VersionId::Of(9, 9);
  ASSERT_TRUE(DecodeObject(EncodeObject(enc), &back).ok());
  EXPECT_EQ(back.encryption, enc.encryption);
  EXPECT_EQ(back.version, enc.version);
  ASSERT_TRUE(DecodeObject(EncodeObject(legacy), &back).ok());
  EXPECT_TRUE(back.encryption.empty());
  m.append_state.clear();
  m.replication_status.clear();
  // The summary decode skips the bytes but keeps version and marker.
  ASSERT_TRUE(DecodeObjectSummary(EncodeObject(m), &back).ok());
  EXPECT_EQ(back.version, m.version);
  // Bucket records: versioning, Object Lock, snapshot fields.
  BucketInfo b{BucketName::Trusted("snap"), 1, "o", "r"}, b2;
  b.versioning = Versioning::kSuspended;
  b.lock = {true, "GOVERNANCE", 7, 0};
  b.snapshot_of = "src";
  b.snapshot_at = 123;
  b.last_snapshot_at = 45;
  ASSERT_TRUE(DecodeBucket(EncodeBucket(b), &b2).ok());
  EXPECT_EQ(b2.versioning, Versioning::kSuspended);
  EXPECT_TRUE(b2.lock.enabled);
  EXPECT_EQ(b2.lock.default_days, 7u);
  EXPECT_EQ(b2.snapshot_of, "src");
  EXPECT_EQ(b2.snapshot_at, 123);
  EXPECT_EQ(b2.last_snapshot_at, 45);
  // Version keys: newest first within a key, every key's versions before the next key's.
  EXPECT_LT(VersionKey("b", "k", VersionId::Of(200, 1)),
            VersionKey("b", "k", VersionId::Of(100, 1)));
  EXPECT_LT(VersionKey("b", "k", VersionId::Of(1, 1)),
            VersionKey("b", "k0", VersionId::Of(900, 1)));
}

}  // namespace
}  // namespace sluice::meta::codec
