#include "meta/kv/codec.h"

#include <gtest/gtest.h>

namespace sluice::meta::codec {
namespace {

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
  UploadInfo u{UploadId::Trusted("uid"), ObjectKey::Trusted("key"), 5, "ct", {{"x-amz-meta-a", "b"}}, {{"t", "v"}}};
  UploadInfo u2;
  ASSERT_TRUE(DecodeUpload(EncodeUpload(u), &u2).ok());
  EXPECT_EQ(u2.upload_id, "uid");
  EXPECT_EQ(u2.tags, u.tags);
  u.checksum_algo = "CRC64NVME";
  u.checksum_type = "FULL_OBJECT";
  ASSERT_TRUE(DecodeUpload(EncodeUpload(u), &u2).ok());
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

}  // namespace
}  // namespace sluice::meta::codec
