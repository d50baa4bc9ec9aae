#include "auth/sigv2.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <map>

#include "common/hash.h"
#include "common/strings.h"

namespace sluice::auth {
namespace {

// Query parameters that are part of the signed resource (botocore's QSAOfInterest).
constexpr std::string_view kSubresources[] = {"accelerate",
                                              "acl",
                                              "analytics",
                                              "cors",
                                              "defaultObjectAcl",
                                              "delete",
                                              "inventory",
                                              "lifecycle",
                                              "location",
                                              "logging",
                                              "metrics",
                                              "notification",
                                              "object-lock",
                                              "partNumber",
                                              "policy",
                                              "replication",
                                              "requestPayment",
                                              "response-cache-control",
                                              "response-content-disposition",
                                              "response-content-encoding",
                                              "response-content-language",
                                              "response-content-type",
                                              "response-expires",
                                              "restore",
                                              "select",
                                              "select-type",
                                              "storageClass",
                                              "tagging",
                                              "torrent",
                                              "uploadId",
                                              "uploads",
                                              "versionId",
                                              "versioning",
                                              "versions",
                                              "website"};

std::string HmacSha1Base64(std::string_view key, std::string_view data) {
  return Base64Encode(HmacSha1(key, data));
}

}  // namespace

bool SigV2Verifier::HasAuth(const RequestView& r) {
  if (r.header("authorization").starts_with("AWS ")) return true;
  bool found;
  FindQueryParam(r.raw_query, "AWSAccessKeyId", &found);
  return found;
}

std::string SigV2StringToSign(const RequestView& r, std::string_view date_or_expires,
                              std::string_view resource_bucket) {
  std::string sts;
  sts.append(r.method).push_back('\n');
  sts.append(Trim(r.header("content-md5"))).push_back('\n');
  sts.append(Trim(r.header("content-type"))).push_back('\n');
  sts.append(date_or_expires).push_back('\n');
  // x-amz-* headers, lowercased and sorted. The request view only looks headers up by
  // name, so the ones that matter for S3 requests are enumerated.
  static constexpr std::string_view kAmz[] = {"x-amz-acl",
                                              "x-amz-copy-source",
                                              "x-amz-copy-source-if-match",
                                              "x-amz-copy-source-if-modified-since",
                                              "x-amz-copy-source-if-none-match",
                                              "x-amz-copy-source-if-unmodified-since",
                                              "x-amz-copy-source-range",
                                              "x-amz-date",
                                              "x-amz-metadata-directive",
                                              "x-amz-security-token",
                                              "x-amz-storage-class",
                                              "x-amz-tagging",
                                              "x-amz-tagging-directive",
                                              "x-amz-content-sha256"};
  std::map<std::string, std::string> amz;
  for (auto h : kAmz) {
    std::string_view v = r.header(h);
    if (!v.empty()) amz[std::string(h)] = std::string(Trim(v));
  }
  if (r.all_amz_headers) r.all_amz_headers(&amz);
  for (const auto& [k, v] : amz) sts.append(k).append(":").append(v).append("\n");
  if (!resource_bucket.empty()) {
    sts.push_back('/');
    sts.append(resource_bucket);
  }
  sts.append(r.raw_path);
  std::vector<std::pair<std::string, std::string>> sub;
  std::string_view q = r.raw_query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view item = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    size_t eq = item.find('=');
    std::string_view k = item.substr(0, eq);
    if (std::find(std::begin(kSubresources), std::end(kSubresources), k) == std::end(kSubresources))
      continue;
    std::string v;
    if (eq != std::string_view::npos) {
      auto d = UriDecode(item.substr(eq + 1));
      v = "=" + (d ? *d : std::string(item.substr(eq + 1)));
    }
    sub.emplace_back(std::string(k), std::move(v));
  }
  std::sort(sub.begin(), sub.end());
  for (size_t i = 0; i < sub.size(); i++) {
    sts.push_back(i == 0 ? '?' : '&');
    sts += sub[i].first + sub[i].second;
  }
  return sts;
}

Result<AuthResult> SigV2Verifier::Verify(const RequestView& r, std::string_view resource_bucket,
                                         AuthFailureDetails* details) const {
  std::string access_key, signature, date;
  std::string_view auth = r.header("authorization");
  int64_t now = clock_->NowMicros();
  if (auth.starts_with("AWS ")) {
    std::string_view cred = Trim(auth.substr(4));
    size_t colon = cred.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
      return Error(Err::kAuthorizationHeaderMalformed, "expected 'AWS AccessKeyId:Signature'");
    access_key = cred.substr(0, colon);
    signature = cred.substr(colon + 1);
    // An x-amz-date header, even an empty one, replaces Date (and an empty one then fails).
    std::map<std::string, std::string> amz;
    if (r.all_amz_headers) r.all_amz_headers(&amz);
    const bool has_amz_date = amz.count("x-amz-date") > 0;
    auto when =
        ParseHttpDate(has_amz_date ? std::string_view(amz["x-amz-date"]) : r.header("date"));
    if (!when)
      return Error(Err::kAccessDenied,
                   "AWS authentication requires a valid Date or x-amz-date header");
    if (*when > now + SigV4Verifier::kMaxSkewMicros || *when < now - SigV4Verifier::kMaxSkewMicros)
      return Error(Err::kRequestTimeTooSkewed,
                   "The difference between the request time and the current time is too large.");
    date = has_amz_date ? "" : std::string(Trim(r.header("date")));
  } else {
    bool found;
    auto get = [&](std::string_view n) -> std::optional<std::string> {
      std::string_view v = FindQueryParam(r.raw_query, n, &found);
      if (!found) return std::nullopt;
      auto d = UriDecode(v);
      return d ? *d : std::string(v);
    };
    auto ak = get("AWSAccessKeyId"), sig = get("Signature"), exp = get("Expires");
    if (!ak || !sig || !exp)
      return Error(Err::kAccessDenied,
                   "Query-string authentication requires the Signature, "
                   "Expires and AWSAccessKeyId parameters");
    auto e = ParseUint(*exp);
    if (!e) return Error(Err::kAccessDenied, "Expires must be a number of seconds since the epoch");
    if (static_cast<int64_t>(*e) * 1000000 < now)
      return Error(Err::kExpiredPresignedRequest, "Request has expired");
    access_key = *ak;
    signature = *sig;
    date = *exp;
  }
  auto cred = creds_->Lookup(access_key);
  if (!cred) {
    details->fields = {{"AWSAccessKeyId", access_key}};
    return Error(Err::kInvalidAccessKeyId,
                 "The AWS Access Key Id you provided does not exist in our records.");
  }
  auto matches = [&](const std::string& sts) {
    std::string expected = HmacSha1Base64(cred->secret_key, sts);
    return expected.size() == signature.size() &&
           CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) == 0;
  };
  std::string sts = SigV2StringToSign(r, date, resource_bucket);
  bool ok = matches(sts);
  // A path-style request for a bucket ("/bucket") is signed by botocore, and by S3's own
  // examples, with the bucket's resource as "/bucket/". Accept that form too.
  if (!ok && resource_bucket.empty() && r.raw_path.size() > 1 &&
      r.raw_path.find('/', 1) == std::string_view::npos) {
    RequestView slash = r;
    std::string path = std::string(r.raw_path) + "/";
    slash.raw_path = path;
    ok = matches(SigV2StringToSign(slash, date, resource_bucket));
  }
  if (!ok) {
    details->fields = {
        {"AWSAccessKeyId", access_key}, {"StringToSign", sts}, {"SignatureProvided", signature}};
    return Error(Err::kSignatureDoesNotMatch,
                 "The request signature we calculated does not match the signature you "
                 "provided. Check your key and signing method.");
  }
  SLUICE_RETURN_IF_ERROR(CheckSessionToken(r, *cred, now));
  AuthResult res;
  res.credential = std::move(*cred);
  res.presigned = auth.empty();
  res.payload = PayloadMode::kUnsigned;
  return res;
}

}  // namespace sluice::auth
