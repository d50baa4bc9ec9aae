// Vectors from the worked examples in AWS's "Signature Calculations for the Authorization
// Header" and "Authenticating Requests: Using Query Parameters" (S3 API reference).
#include "auth/sigv4.h"

#include <gtest/gtest.h>

#include <map>

#include "auth/sigv2.h"
#include "common/strings.h"

namespace sluice::auth {
namespace {

constexpr char kAk[] = "AKIAIOSFODNN7EXAMPLE";
constexpr char kSk[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr char kEmptySha[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const int64_t kExampleTime = *ParseAmzDate("20130524T000000Z");

struct Fixture {
  StaticCredentialStore creds;
  io::ManualClock clock{kExampleTime};
  SigV4Verifier v{&creds, &clock};
  std::map<std::string, std::string> headers;
  Fixture() { creds.Add({kAk, kSk, "owner", "name"}); }
  Result<AuthResult> Verify(std::string_view method, std::string_view path, std::string_view query,
                            AuthFailureDetails* d = nullptr) {
    AuthFailureDetails local;
    RequestView r{method,
                  path,
                  query,
                  [this](std::string_view n) -> std::string_view {
                    auto it = headers.find(ToLower(n));
                    return it == headers.end() ? std::string_view() : std::string_view(it->second);
                  },
                  {}};
    return v.Verify(r, d ? d : &local);
  }
  void Auth(std::string_view signed_headers, std::string_view sig) {
    headers["authorization"] =
        std::string("AWS4-HMAC-SHA256 Credential=") + kAk +
        "/20130524/us-east-1/s3/aws4_request,SignedHeaders=" + std::string(signed_headers) +
        ",Signature=" + std::string(sig);
  }
};

// compat: signatures
TEST(SigV4, AwsExampleGetObjectWithRange) {
  Fixture f;
  f.headers = {{"host", "examplebucket.s3.amazonaws.com"},
               {"range", "bytes=0-9"},
               {"x-amz-content-sha256", kEmptySha},
               {"x-amz-date", "20130524T000000Z"}};
  f.Auth("host;range;x-amz-content-sha256;x-amz-date",
         "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  auto r = f.Verify("GET", "/test.txt", "");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->credential.access_key, kAk);
  EXPECT_EQ(r->payload, PayloadMode::kSha256);
  EXPECT_EQ(r->payload_sha256, kEmptySha);
}

TEST(SigV4, SignedHeaderNamesAreMatchedInLowerCase) {
  Fixture f;
  f.headers = {{"host", "examplebucket.s3.amazonaws.com"},
               {"range", "bytes=0-9"},
               {"x-amz-content-sha256", kEmptySha},
               {"x-amz-date", "20130524T000000Z"}};
  // The same signature as the lower-case list: the canonical request lowers the names.
  f.Auth("Host;Range;X-Amz-Content-Sha256;X-Amz-Date",
         "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  auto r = f.Verify("GET", "/test.txt", "");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->credential.access_key, kAk);
  EXPECT_EQ(r->amz_date, "20130524T000000Z");
  EXPECT_EQ(r->scope, "20130524/us-east-1/s3/aws4_request");
}

TEST(SigV4, AwsExamplePutObject) {
  Fixture f;
  f.headers = {
      {"host", "examplebucket.s3.amazonaws.com"},
      {"date", "Fri, 24 May 2013 00:00:00 GMT"},
      {"x-amz-date", "20130524T000000Z"},
      {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
      {"x-amz-content-sha256", "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"}};
  f.Auth("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
         "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
  auto r = f.Verify("PUT", "/test%24file.text", "");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

TEST(SigV4, AwsExampleGetBucketLifecycleAndList) {
  Fixture f;
  f.headers = {{"host", "examplebucket.s3.amazonaws.com"},
               {"x-amz-date", "20130524T000000Z"},
               {"x-amz-content-sha256", kEmptySha}};
  f.Auth("host;x-amz-content-sha256;x-amz-date",
         "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
  EXPECT_TRUE(f.Verify("GET", "/", "lifecycle").ok());
  f.Auth("host;x-amz-content-sha256;x-amz-date",
         "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
  // Query order on the wire does not matter: the canonical form sorts it.
  EXPECT_TRUE(f.Verify("GET", "/", "prefix=J&max-keys=2").ok());
}

TEST(SigV4, AwsExamplePresignedUrl) {
  Fixture f;
  f.headers = {{"host", "examplebucket.s3.amazonaws.com"}};
  std::string q =
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-"
      "east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-"
      "SignedHeaders=host&X-Amz-Signature="
      "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
  auto r = f.Verify("GET", "/test.txt", q);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->presigned);
  EXPECT_EQ(r->payload, PayloadMode::kUnsigned);
  // X-Amz-Expires is enforced through the injected clock.
  f.clock.Advance(86401LL * 1000000);
  EXPECT_EQ(f.Verify("GET", "/test.txt", q).status().code(), Err::kExpiredPresignedRequest);
}

TEST(SigV4, TamperedRequestIsRefusedWithDebugDetails) {
  Fixture f;
  f.headers = {{"host", "examplebucket.s3.amazonaws.com"},
               {"range", "bytes=0-10"},
               {"x-amz-content-sha256", kEmptySha},
               {"x-amz-date", "20130524T000000Z"}};
  f.Auth("host;range;x-amz-content-sha256;x-amz-date",
         "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  AuthFailureDetails d;
  auto r = f.Verify("GET", "/test.txt", "", &d);
  EXPECT_EQ(r.status().code(), Err::kSignatureDoesNotMatch);
  bool has_sts = false, has_creq = false;
  for (auto& [k, v] : d.fields) {
    has_sts |= k == "StringToSign";
    has_creq |= k == "CanonicalRequest" && v.find("bytes=0-10") != std::string::npos;
  }
  EXPECT_TRUE(has_sts);
  EXPECT_TRUE(has_creq);
}

TEST(SigV4, UnknownKeySkewAndMalformed) {
  Fixture f;
  f.headers = {
      {"host", "h"}, {"x-amz-content-sha256", kEmptySha}, {"x-amz-date", "20130524T000000Z"}};
  f.headers["authorization"] =
      "AWS4-HMAC-SHA256 Credential=NOPE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host,"
      "Signature=00";
  EXPECT_EQ(f.Verify("GET", "/", "").status().code(), Err::kInvalidAccessKeyId);
  f.Auth("host;x-amz-date", "00");
  f.clock.Advance(16LL * 60 * 1000000);
  EXPECT_EQ(f.Verify("GET", "/", "").status().code(), Err::kRequestTimeTooSkewed);
  f.clock.Set(kExampleTime);
  f.headers["authorization"] = "AWS4-HMAC-SHA256 Credential=bad, Signature=1";
  EXPECT_EQ(f.Verify("GET", "/", "").status().code(), Err::kAuthorizationHeaderMalformed);
  f.headers["authorization"] = "AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=";
  EXPECT_EQ(f.Verify("GET", "/", "").status().code(), Err::kInvalidRequest);
  f.Auth("x-amz-date", "00");  // host not signed
  EXPECT_EQ(f.Verify("GET", "/", "").status().code(), Err::kAuthorizationHeaderMalformed);
}

TEST(SigV4, MissingPayloadHashAndStreamingModes) {
  Fixture f;
  f.headers = {{"host", "h"}, {"x-amz-date", "20130524T000000Z"}};
  f.Auth("host;x-amz-date", "00");
  EXPECT_EQ(f.Verify("GET", "/", "").status().code(), Err::kInvalidRequest);
  f.headers["x-amz-content-sha256"] = "nonsense";
  EXPECT_EQ(f.Verify("GET", "/", "").status().code(), Err::kInvalidArgument);
}

TEST(SigV4, PresignedParameterErrors) {
  Fixture f;
  f.headers = {{"host", "h"}};
  EXPECT_EQ(f.Verify("GET", "/", "X-Amz-Algorithm=AWS4-HMAC-SHA256").status().code(),
            Err::kAuthorizationQueryParametersError);
  std::string q =
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-"
      "east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=604801&X-Amz-"
      "SignedHeaders=host&X-Amz-Signature=00";
  EXPECT_EQ(f.Verify("GET", "/", q).status().code(), Err::kAuthorizationQueryParametersError);
  for (std::string_view bad : {"X-Amz-Credential=AK%2", "X-Amz-Credential=a%2Fb",
                               "X-Amz-Credential=a%2Fb%2Fc%2Fd%2Fe%2Ff"}) {
    std::string broken =
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&" + std::string(bad) +
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00";
    EXPECT_EQ(f.Verify("GET", "/", broken).status().code(), Err::kAuthorizationQueryParametersError)
        << bad;
  }
}

TEST(SigV4, CanonicalPieces) {
  EXPECT_EQ(CanonicalUri("/a%20b/c+d/%F0%9F%98%80"), "/a%20b/c%2Bd/%F0%9F%98%80");
  EXPECT_EQ(CanonicalQuery("b=2&a=1&uploads"), "a=1&b=2&uploads=");
  EXPECT_EQ(CanonicalQuery("X-Amz-Signature=abc&z=1", "X-Amz-Signature"), "z=1");
  // More parameters than the verifier keeps on its stack, some to be re-encoded.
  std::string many, sorted;
  for (int i = 39; i >= 0; i--) {
    many += (many.empty() ? "" : "&") + std::string("p") + std::to_string(100 + i) + "=v%2f" +
            (i % 2 ? "a b" : "c");
  }
  for (int i = 0; i < 40; i++) {
    sorted += (sorted.empty() ? "" : "&") + std::string("p") + std::to_string(100 + i) + "=v%2F" +
              (i % 2 ? "a%20b" : "c");
  }
  EXPECT_EQ(CanonicalQuery(many), sorted);
  EXPECT_EQ(CanonicalHeaderValue("  a   b  c "), "a b c");
  EXPECT_EQ(CachedSigningKey(kSk, "20130524", "us-east-1", "s3"),
            DeriveSigningKey(kSk, "20130524", "us-east-1", "s3"));
}

TEST(SigV2, AwsExampleVirtualHostedGet) {
  StaticCredentialStore creds;
  creds.Add({kAk, kSk, "o", "n"});
  io::ManualClock clock(*ParseHttpDate("Tue, 27 Mar 2007 19:36:42 GMT"));
  SigV2Verifier v(&creds, &clock);
  std::map<std::string, std::string> headers = {
      {"host", "awsexamplebucket1.us-west-1.s3.amazonaws.com"},
      {"date", "Tue, 27 Mar 2007 19:36:42 +0000"},
      {"authorization", "AWS AKIAIOSFODNN7EXAMPLE:qgk2+6Sv9/oM7G3qLEjTH1a1l1g="}};
  RequestView r{"GET",
                "/photos/puppy.jpg",
                "",
                [&](std::string_view n) -> std::string_view {
                  auto it = headers.find(std::string(n));
                  return it == headers.end() ? std::string_view() : std::string_view(it->second);
                },
                {}};
  ASSERT_TRUE(SigV2Verifier::HasAuth(r));
  AuthFailureDetails d;
  auto res = v.Verify(r, "awsexamplebucket1", &d);
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  headers["authorization"] = "AWS AKIAIOSFODNN7EXAMPLE:AAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  EXPECT_EQ(v.Verify(r, "awsexamplebucket1", &d).status().code(), Err::kSignatureDoesNotMatch);
  // Query form: an Expires in the past is refused.
  headers.erase("authorization");
  RequestView q{"GET",
                "/photos/puppy.jpg",
                "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175024202&Signature=x",
                r.header,
                {}};
  clock.Set(1175024203LL * 1000000);
  EXPECT_EQ(v.Verify(q, "", &d).status().code(), Err::kExpiredPresignedRequest);
}

}  // namespace
}  // namespace sluice::auth
