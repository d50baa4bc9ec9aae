// AWS Signature Version 4 verification for S3: the Authorization header form and the
// presigned-URL form (X-Amz-* query parameters). Pure computation over a request view;
// the time comes from the injected clock.
//
// What it returns tells the caller how to treat the payload: unsigned, a SHA-256 to
// verify while the body streams, or an aws-chunked stream whose chunk signatures chain
// from the seed signature (the signing key and scope are returned for that).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "auth/credentials.h"
#include "common/hash.h"
#include "common/status.h"
#include "io/env.h"

namespace sluice::auth {

// The parts of an HTTP request that SigV4 covers.
struct RequestView {
  std::string_view method;
  std::string_view raw_path;                                 // as sent, percent-encoded
  std::string_view raw_query;                                // as sent, without '?'
  std::function<std::string_view(std::string_view)> header;  // "" when absent
  // Adds every x-amz-* header (lowercase name -> trimmed value); SigV2 signs them all.
  std::function<void(std::map<std::string, std::string>*)> all_amz_headers;
  // Hex SHA-256 of a body the caller has already read, for services that sign the payload
  // without an x-amz-content-sha256 header (STS). Empty for S3.
  std::string_view body_sha256 = {};
};

enum class PayloadMode {
  kUnsigned,         // UNSIGNED-PAYLOAD
  kSha256,           // a hex SHA-256 to check against the body
  kStreamingSigned,  // STREAMING-AWS4-HMAC-SHA256-PAYLOAD (aws-chunked)
  kStreamingSignedTrailer,
  kStreamingUnsignedTrailer,
};

struct AuthResult {
  Credential credential;
  bool presigned = false;
  PayloadMode payload = PayloadMode::kUnsigned;
  std::string payload_sha256;  // hex, for kSha256
  // For the streaming modes: what chunk signatures chain from.
  std::string seed_signature;
  std::string signing_key;
  std::string amz_date;
  std::string scope;  // date/region/service/aws4_request
};

// Extra fields S3 puts in a signature error so a client author can see what differs.
struct AuthFailureDetails {
  std::vector<std::pair<std::string, std::string>> fields;
};

class SigV4Verifier {
 public:
  SigV4Verifier(const CredentialStore* creds, const io::Clock* clock, std::string service = "s3")
      : creds_(creds), clock_(clock), service_(std::move(service)) {}
  // Whether the request carries any SigV4 authentication (header or query).
  static bool HasAuth(const RequestView& r);
  Result<AuthResult> Verify(const RequestView& r, AuthFailureDetails* details) const;

  static constexpr int64_t kMaxSkewMicros = 15LL * 60 * 1000000;

 private:
  const CredentialStore* creds_;
  const io::Clock* clock_;
  std::string service_;
};

// Temporary credentials must present their session token (x-amz-security-token, or
// X-Amz-Security-Token in a presigned URL) and be unexpired; long-term keys must not send
// one. kInvalidToken or kExpiredToken. Shared by SigV4 and SigV2.
Status CheckSessionToken(const RequestView& r, const Credential& cred, int64_t now_micros);

// Building blocks, exposed for the client side and for tests.
std::string DeriveSigningKey(std::string_view secret, std::string_view date,
                             std::string_view region, std::string_view service);
// The signing key, cached per thread by (secret, date, region, service), with its HMAC
// pads already hashed (one day's requests are all signed with it).
struct SigningKey {
  explicit SigningKey(std::string k) : key(std::move(k)), mac(key) {}
  std::string key;
  HmacSha256Key mac;
};
const SigningKey& CachedSigner(std::string_view secret, std::string_view date,
                               std::string_view region, std::string_view service);
inline const std::string& CachedSigningKey(std::string_view secret, std::string_view date,
                                           std::string_view region, std::string_view service) {
  return CachedSigner(secret, date, region, service).key;
}
std::string CanonicalUri(std::string_view raw_path);
// Drops the parameter named `exclude` (X-Amz-Signature for presigned URLs).
std::string CanonicalQuery(std::string_view raw_query, std::string_view exclude = {});
std::string CanonicalHeaderValue(std::string_view v);

}  // namespace sluice::auth
