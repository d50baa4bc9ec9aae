#include "auth/post_policy.h"

#include <gtest/gtest.h>

#include "auth/sigv4.h"
#include "common/hash.h"
#include "common/strings.h"

namespace sluice::auth {
namespace {

constexpr int64_t kNow = 1700000000LL * 1000000;  // 2023-11-14T22:13:20Z

std::string B64(std::string_view s) { return Base64Encode(s); }

PostPolicy Parse(const std::string& json) {
  auto p = ParsePostPolicy(B64(json));
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? *p : PostPolicy{};
}

// compat: post-object
TEST(PostPolicy, ParsesEveryConditionForm) {
  auto p = Parse(R"({"expiration": "2023-11-15T00:00:00.000Z", "conditions": [
      {"bucket": "b"}, ["starts-with", "$key", "user/"], {"acl": "private"},
      ["eq", "$Content-Type", "image/png"], ["content-length-range", 10, 100]]})");
  EXPECT_EQ(p.expiration_micros, 1700006400LL * 1000000);
  ASSERT_EQ(p.conditions.size(), 5u);
  EXPECT_EQ(p.conditions[1].kind, PostCondition::kStartsWith);
  EXPECT_EQ(p.conditions[3].field, "content-type");
  EXPECT_EQ(p.conditions[4].max, 100u);
}

TEST(PostPolicy, MalformedPoliciesAreInvalidPolicyDocument) {
  for (
      const std::string& bad : {
          std::string("not json"),
          std::string("[]"),
          std::string(R"({"conditions": []})"),
          std::string(R"({"expiration": "tomorrow", "conditions": []})"),
          std::string(R"({"expiration": "2023-11-15T00:00:00Z"})"),
          std::string(
              R"({"expiration": "2023-11-15T00:00:00Z", "conditions": [["between", "$key", "a"]]})"),
          std::string(
              R"({"expiration": "2023-11-15T00:00:00Z", "conditions": [["eq", "key", "a"]]})"),
          std::string(
              R"({"expiration": "2023-11-15T00:00:00Z", "conditions": [["content-length-range", 5, 1]]})"),
          std::string(
              R"({"expiration": "2023-11-15T00:00:00Z", "conditions": [{"a": "1", "b": "2"}]})"),
          std::string(R"({"expiration": "2023-11-15T00:00:00Z", "conditions": [{"a": 1}]})"),
          std::string(R"({"expiration": "2023-11-15T00:00:00Z", "conditions": ["key"]})"),
      })
    EXPECT_EQ(ParsePostPolicy(B64(bad)).status().code(), Err::kInvalidPolicyDocument) << bad;
  EXPECT_EQ(ParsePostPolicy("%%%").status().code(), Err::kInvalidPolicyDocument);
}

TEST(PostPolicy, ConditionsAndCoverage) {
  auto p = Parse(R"({"expiration": "2023-11-15T00:00:00Z", "conditions": [
      {"bucket": "b"}, ["starts-with", "$key", "user/"], ["starts-with", "$Content-Type", "image/"],
      {"x-amz-meta-tag": "t"}, ["content-length-range", 1, 10]]})");
  FormFields ok = {{"key", "user/a.png"}, {"content-type", "image/png"}, {"x-amz-meta-tag", "t"},
                   {"policy", "..."},     {"x-amz-signature", "..."},    {"x-ignore-me", "1"}};
  auto range = CheckPostPolicy(p, ok, "b", kNow);
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  EXPECT_EQ(**range, std::make_pair(uint64_t{1}, uint64_t{10}));

  auto fails = [&](FormFields f, std::string_view bucket, int64_t now, std::string_view msg) {
    auto r = CheckPostPolicy(p, f, bucket, now);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Err::kAccessDenied);
    EXPECT_NE(r.status().message().find(msg), std::string::npos) << r.status().message();
  };
  fails(ok, "other", kNow, "Policy Condition failed");
  fails(ok, "b", 1700006400LL * 1000000, "Policy expired");
  auto f = ok;
  f["key"] = "admin/a.png";
  fails(f, "b", kNow, "$key");
  f = ok;
  f["content-type"] = "image/png, text/html";
  fails(f, "b", kNow, "Content-Type");
  f = ok;
  f["content-type"] = "image/png,image/jpeg";
  EXPECT_TRUE(CheckPostPolicy(p, f, "b", kNow).ok());
  f = ok;
  f["x-amz-meta-tag"] = "T";
  fails(f, "b", kNow, "x-amz-meta-tag");
  f = ok;
  f["success_action_status"] = "201";
  fails(f, "b", kNow, "Extra input fields: success_action_status");
  f = ok;
  f.erase("x-amz-meta-tag");
  fails(f, "b", kNow, "x-amz-meta-tag");  // an eq condition on a missing field fails
}

TEST(PostPolicy, SignaturesV4AndV2) {
  StaticCredentialStore creds;
  creds.Add({"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "o", "n"});
  std::string policy = B64(R"({"expiration": "2023-11-15T00:00:00Z", "conditions": []})");
  std::string key =
      DeriveSigningKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "20231114", "us-east-1", "s3");
  FormFields v4 = {{"policy", policy},
                   {"x-amz-algorithm", "AWS4-HMAC-SHA256"},
                   {"x-amz-credential", "AKIDEXAMPLE/20231114/us-east-1/s3/aws4_request"},
                   {"x-amz-date", "20231114T221320Z"},
                   {"x-amz-signature", HexEncode(HmacSha256(key, policy))}};
  auto c = VerifyPostSignature(v4, &creds);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key, "AKIDEXAMPLE");

  auto code = [&](FormFields f) { return VerifyPostSignature(f, &creds).status().code(); };
  auto f = v4;
  f["policy"] = B64(R"({"expiration": "2030-01-01T00:00:00Z", "conditions": []})");  // tampered
  EXPECT_EQ(code(f), Err::kSignatureDoesNotMatch);
  f = v4;
  f["x-amz-credential"] = "NOBODY/20231114/us-east-1/s3/aws4_request";
  EXPECT_EQ(code(f), Err::kInvalidAccessKeyId);
  f = v4;
  f["x-amz-credential"] = "AKIDEXAMPLE/20231114/us-east-1/s3";
  EXPECT_EQ(code(f), Err::kInvalidArgument);
  f = v4;
  f["x-amz-date"] = "20231115T000000Z";  // not the credential's day
  EXPECT_EQ(code(f), Err::kInvalidArgument);
  f = v4;
  f["x-amz-algorithm"] = "AWS4-HMAC-SHA1";
  EXPECT_EQ(code(f), Err::kInvalidArgument);

  FormFields v2 = {
      {"policy", policy},
      {"awsaccesskeyid", "AKIDEXAMPLE"},
      {"signature", Base64Encode(HmacSha1("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", policy))}};
  EXPECT_TRUE(VerifyPostSignature(v2, &creds).ok());
  v2["signature"] = "AAAA";
  EXPECT_EQ(code(v2), Err::kSignatureDoesNotMatch);
  EXPECT_EQ(code({{"key", "x"}}), Err::kAccessDenied);  // anonymous
}

}  // namespace
}  // namespace sluice::auth
