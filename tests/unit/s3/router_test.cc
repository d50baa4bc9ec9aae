#include "s3/router.h"

#include <gtest/gtest.h>

#include <optional>

namespace sluice::s3 {
namespace {

Result<Route> R(std::string_view method, std::string_view path, std::string_view query = "",
                std::string_view host = "127.0.0.1:9000", bool copy = false) {
  auto q = Query::Parse(query);
  EXPECT_TRUE(q.ok());
  return RouteRequest(method, host, path, *q, {"s3.local"}, copy);
}

TEST(Router, PathStyle) {
  EXPECT_EQ(R("GET", "/")->op, Op::kListBuckets);
  EXPECT_EQ(R("PUT", "/b")->op, Op::kCreateBucket);
  EXPECT_EQ(R("GET", "/b")->op, Op::kListObjects);
  EXPECT_EQ(R("GET", "/b/", "list-type=2")->op, Op::kListObjectsV2);
  EXPECT_EQ(R("GET", "/b", "location")->op, Op::kGetBucketLocation);
  EXPECT_EQ(R("GET", "/b", "usage")->op, Op::kGetBucketUsage);  // sluice's own
  EXPECT_EQ(R("PUT", "/b", "usage").status().code(), Err::kMethodNotAllowed);
  EXPECT_EQ(R("GET", "/b", "uploads")->op, Op::kListMultipartUploads);
  EXPECT_EQ(R("POST", "/b", "delete")->op, Op::kDeleteObjects);
  auto r = R("PUT", "/b/dir/key%20x");
  EXPECT_EQ(r->op, Op::kPutObject);
  EXPECT_EQ(r->bucket, "b");
  EXPECT_EQ(r->key, "dir/key x");
  EXPECT_EQ(R("PUT", "/b/k", "", "h", true)->op, Op::kCopyObject);
  EXPECT_EQ(R("PUT", "/b/k", "partNumber=1&uploadId=u")->op, Op::kUploadPart);
  EXPECT_EQ(R("PUT", "/b/k", "partNumber=1&uploadId=u", "h", true)->op, Op::kUploadPartCopy);
  EXPECT_EQ(R("POST", "/b/k", "uploads")->op, Op::kCreateMultipartUpload);
  EXPECT_EQ(R("POST", "/b/k", "uploadId=u")->op, Op::kCompleteMultipartUpload);
  EXPECT_EQ(R("DELETE", "/b/k", "uploadId=u")->op, Op::kAbortMultipartUpload);
  EXPECT_EQ(R("GET", "/b/k", "uploadId=u")->op, Op::kListParts);
  EXPECT_EQ(R("GET", "/b/k", "tagging")->op, Op::kGetObjectTagging);
  EXPECT_EQ(R("HEAD", "/b/k")->op, Op::kHeadObject);
  EXPECT_EQ(R("GET", "/b/k", "x-id=GetObject")->op, Op::kGetObject);
}

TEST(Router, KeysArePlainNamesNotPaths) {
  EXPECT_EQ(R("GET", "/b/../x")->key, "../x");
  EXPECT_EQ(R("GET", "/b/a//b")->key, "a//b");
  EXPECT_EQ(R("GET", "/b//lead")->key, "/lead");
}

TEST(Router, VirtualHostedStyle) {
  auto r = R("GET", "/some/key", "", "mybucket.s3.local:9000");
  EXPECT_EQ(r->op, Op::kGetObject);
  EXPECT_EQ(r->bucket, "mybucket");
  EXPECT_EQ(r->key, "some/key");
  EXPECT_EQ(R("GET", "/", "", "mybucket.s3.local")->op, Op::kListObjects);
}

TEST(Router, UnknownAndUnsupported) {
  EXPECT_EQ(R("GET", "/b", "acl")->op, Op::kGetBucketAcl);
  EXPECT_EQ(R("GET", "/b/k", "acl")->op, Op::kGetObjectAcl);
  EXPECT_EQ(R("GET", "/b", "lifecycle")->op, Op::kGetBucketLifecycle);
  EXPECT_EQ(R("GET", "/b", "website")->op, Op::kGetBucketSubresource);
  EXPECT_EQ(R("GET", "/b", "website")->subresource, "website");
  EXPECT_EQ(R("DELETE", "/b", "policy")->op, Op::kDeleteBucketPolicy);
  EXPECT_EQ(R("GET", "/b", "policyStatus")->op, Op::kGetBucketPolicyStatus);
  EXPECT_EQ(R("DELETE", "/b", "lifecycle")->op, Op::kDeleteBucketLifecycle);
  EXPECT_EQ(R("DELETE", "/b", "website")->op, Op::kDeleteBucketSubresource);
  EXPECT_EQ(R("DELETE", "/b", "cors")->op, Op::kDeleteBucketCors);
  EXPECT_EQ(R("PUT", "/b", "cors")->op, Op::kPutBucketCors);
  EXPECT_EQ(R("GET", "/b", "cors")->op, Op::kGetBucketCors);
  EXPECT_EQ(R("PUT", "/b", "encryption")->op, Op::kPutBucketEncryption);
  EXPECT_EQ(R("GET", "/b", "encryption")->op, Op::kGetBucketEncryption);
  EXPECT_EQ(R("DELETE", "/b", "encryption")->op, Op::kDeleteBucketEncryption);
  EXPECT_EQ(R("OPTIONS", "/b/k")->op, Op::kPreflight);
  EXPECT_EQ(R("OPTIONS", "/b")->op, Op::kPreflight);
  EXPECT_EQ(R("OPTIONS", "/").status().code(), Err::kMethodNotAllowed);
  EXPECT_EQ(R("PUT", "/b", "lifecycle")->op, Op::kPutBucketLifecycle);
  EXPECT_EQ(R("PUT", "/b", "website").status().code(), Err::kNotImplemented);
  EXPECT_EQ(R("GET", "/b", "versions")->op, Op::kListObjectVersions);
  EXPECT_EQ(R("GET", "/b/k", "retention")->op, Op::kGetObjectRetention);
  EXPECT_EQ(R("PUT", "/b/k", "legal-hold&versionId=x")->op, Op::kPutObjectLegalHold);
  EXPECT_EQ(R("PUT", "/b", "object-lock")->op, Op::kPutObjectLockConfiguration);
  EXPECT_EQ(R("GET", "/b/k", "torrent").status().code(), Err::kNotImplemented);
  EXPECT_EQ(R("PUT", "/b", "versioning")->op, Op::kPutBucketVersioning);
  EXPECT_EQ(R("GET", "/b", "versioning")->op, Op::kGetBucketVersioning);
  EXPECT_EQ(R("GET", "/b/k", "versionId=abc")->op, Op::kGetObject);  // the id: handler.cc
  EXPECT_EQ(R("DELETE", "/b/k", "versionId=abc")->op, Op::kDeleteObject);
  EXPECT_EQ(R("PUT", "/b/k", "tagging&versionId=x")->op, Op::kPutObjectTagging);
  // An operation on the latest never takes a version id it would ignore.
  EXPECT_EQ(R("PUT", "/b/k", "versionId=x").status().code(), Err::kInvalidArgument);
  EXPECT_EQ(R("GET", "/b", "versionId=x").status().code(), Err::kInvalidArgument);
  EXPECT_EQ(R("GET", "/b/k", "versionId=null")->op, Op::kGetObject);
  EXPECT_EQ(R("PATCH", "/b/k").status().code(), Err::kMethodNotAllowed);
  EXPECT_EQ(R("DELETE", "/").status().code(), Err::kMethodNotAllowed);
  EXPECT_EQ(R("GET", "/b/%zz").status().code(), Err::kInvalidURI);
  EXPECT_EQ(R("PUT", "/b/k", "uploadId=u").status().code(), Err::kInvalidRequest);
}

TEST(Router, BucketNames) {
  EXPECT_TRUE(ValidateBucketName("my-bucket.1").ok());
  for (const std::string& bad :
       std::vector<std::string>{"ab", "Upper", "-start", "end-", "a..b", "192.168.1.1", "xn--x",
                                "a_b", "x-s3alias", std::string(64, 'a')})
    EXPECT_EQ(ValidateBucketName(bad).code(), Err::kInvalidBucketName) << bad;
}

TEST(Router, Keys) {
  EXPECT_TRUE(ValidateObjectKey(std::string(1024, 'k')).ok());
  EXPECT_EQ(ValidateObjectKey(std::string(1025, 'k')).code(), Err::kKeyTooLong);
  EXPECT_EQ(ValidateObjectKey("bad\xff").code(), Err::kInvalidObjectKey);
  EXPECT_EQ(ValidateObjectKey(std::string("nul\0x", 5)).code(), Err::kInvalidObjectKey);
  EXPECT_TRUE(ValidateObjectKey("emoji \xf0\x9f\x98\x80 +%?#").ok());
}

}  // namespace
}  // namespace sluice::s3

namespace sluice::s3 {
namespace {

TEST(Query, DecodesNamesAndValuesInOrder) {
  auto q = Query::Parse("b=2&a%20x=1%2F2&&flag&empty=&plus=a+b");
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->items().size(), 5u);  // the empty item between && is skipped
  EXPECT_EQ(q->items()[0], (Query::Item{"b", "2"}));
  EXPECT_EQ(q->items()[1], (Query::Item{"a x", "1/2"}));
  EXPECT_EQ(q->items()[2], (Query::Item{"flag", ""}));
  EXPECT_EQ(q->items()[3], (Query::Item{"empty", ""}));
  EXPECT_EQ(q->Get("plus"), "a+b");  // '+' is not a space in a URI's query
  EXPECT_TRUE(q->Has("flag"));
  EXPECT_FALSE(q->Has("absent"));
  EXPECT_EQ(q->Get("absent"), "");
  EXPECT_TRUE(Query::Parse("")->items().empty());
}

TEST(Query, RefusesMalformedEscapes) {
  for (std::string_view bad : {"a=%", "a=%4", "a=%zz", "%g1=v", "ok=1&b=%4"}) {
    auto q = Query::Parse(bad);
    ASSERT_FALSE(q.ok()) << bad;
    EXPECT_EQ(q.status().code(), Err::kInvalidURI);
  }
}

TEST(Query, CopiesAndMovesKeepTheirOwnText) {
  std::optional<Query> original = *Query::Parse("k=value%21&x=y");
  Query copy = *original;
  Query assigned;
  assigned = copy;
  Query moved = std::move(*original);
  original.reset();  // the moved-from object's storage is gone; the others hold their own
  for (const Query* q : {&copy, &assigned, &moved}) {
    EXPECT_EQ(q->Get("k"), "value!");
    EXPECT_EQ(q->Get("x"), "y");
  }
  EXPECT_NE(copy.Get("k").data(), assigned.Get("k").data());
}

}  // namespace
}  // namespace sluice::s3
