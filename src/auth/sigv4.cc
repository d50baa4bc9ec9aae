#include "auth/sigv4.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <boost/container/small_vector.hpp>
#include <list>
#include <unordered_map>

#include "common/hash.h"
#include "common/strings.h"

namespace sluice::auth {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

// Views into the request, or into `text` where a value had to be decoded or lowered: a
// verification allocates for what it must build, not for every field it reads.
struct Parsed {
  std::string_view access_key, date, region, service, terminator;
  boost::container::small_vector<std::string_view, 8> signed_headers;
  std::string_view signature;
  std::string_view amz_date;
  // Decoded query values, lowered header names and a date made from a Date header. Sized
  // once, by the first Keep, to a bound set by Reserve and never grown past it, so the
  // views into it stay put; most requests keep nothing and never allocate it.
  std::string text;
  size_t bound = 0;

  void Reserve(size_t n) { bound = n; }
  std::string_view Keep(std::string_view v) {
    if (text.empty()) text.reserve(bound);
    if (text.capacity() - text.size() < v.size()) return {};  // Reserve's bound was too small
    const size_t at = text.size();
    text.append(v);
    return std::string_view(text).substr(at);
  }
};

// "AK/20130524/us-east-1/s3/aws4_request"
bool ParseCredential(std::string_view cred, Parsed* p) {
  std::array<std::string_view, 5> parts;
  size_t n = 0, start = 0;
  for (size_t i = 0; i <= cred.size(); i++) {
    if (i == cred.size() || cred[i] == '/') {
      if (n == parts.size()) return false;
      parts[n++] = cred.substr(start, i - start);
      start = i + 1;
    }
  }
  if (n != parts.size()) return false;
  p->access_key = parts[0];
  p->date = parts[1];
  p->region = parts[2];
  p->service = parts[3];
  p->terminator = parts[4];
  return !p->access_key.empty() && p->date.size() == 8;
}

bool ParseSignedHeaders(std::string_view s, Parsed* p) {
  // SDKs send the names in lower case already; only a list that is not gets a lowered copy.
  if (std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
    s = p->Keep(ToLower(s));
    if (s.empty()) return false;
  }
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); i++) {
    if (i == s.size() || s[i] == ';') {
      if (i == start) return false;
      p->signed_headers.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return !p->signed_headers.empty();
}

Status Malformed(std::string msg) {
  return Error(Err::kAuthorizationHeaderMalformed, std::move(msg));
}

// "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..."
Status ParseAuthorization(std::string_view h, Parsed* p) {
  if (!h.starts_with(kAlgorithm) || h.size() == kAlgorithm.size() || h[kAlgorithm.size()] != ' ')
    return Error(Err::kInvalidRequest,
                 "The authorization mechanism you have provided is not supported. Please use "
                 "AWS4-HMAC-SHA256.");
  std::string_view rest = h.substr(kAlgorithm.size());
  bool have_cred = false, have_sh = false, have_sig = false;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = Trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) return Malformed("the authorization header is malformed");
    std::string_view k = item.substr(0, eq), v = item.substr(eq + 1);
    if (k == "Credential") {
      if (!ParseCredential(v, p))
        return Malformed(
            "the Credential is mal-formed; expecting "
            "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"");
      have_cred = true;
    } else if (k == "SignedHeaders") {
      if (!ParseSignedHeaders(v, p)) return Malformed("the SignedHeaders are malformed");
      have_sh = true;
    } else if (k == "Signature") {
      p->signature = v;
      have_sig = true;
    }
  }
  if (!have_cred || !have_sh || !have_sig)
    return Malformed(
        "the authorization header is malformed; it needs Credential, SignedHeaders and Signature");
  return Status::Ok();
}

}  // namespace

Status CheckSessionToken(const RequestView& r, const Credential& cred, int64_t now_micros) {
  std::string_view token = r.header("x-amz-security-token");
  bool found = !token.empty();
  if (!found) token = FindQueryParam(r.raw_query, "X-Amz-Security-Token", &found);
  std::string decoded;
  if (found && token.find('%') != std::string_view::npos) {
    auto d = UriDecode(token);
    if (d) decoded = std::move(*d);
    token = decoded;
  }
  const Identity* id = cred.identity.get();
  if (!id || id->session_token.empty()) {
    if (found && !token.empty())
      return Error(Err::kInvalidToken, "The provided token is malformed or otherwise invalid.");
    return Status::Ok();
  }
  if (token.size() != id->session_token.size() ||
      CRYPTO_memcmp(token.data(), id->session_token.data(), token.size()) != 0)
    return Error(Err::kInvalidToken, "The provided token is malformed or otherwise invalid.");
  if (id->expires_micros != 0 && now_micros >= id->expires_micros)
    return Error(Err::kExpiredToken, "The provided token has expired.");
  return Status::Ok();
}

std::string DeriveSigningKey(std::string_view secret, std::string_view date,
                             std::string_view region, std::string_view service) {
  std::string k = HmacSha256(std::string("AWS4") + std::string(secret), date);
  k = HmacSha256(k, region);
  k = HmacSha256(k, service);
  return HmacSha256(k, "aws4_request");
}

const SigningKey& CachedSigner(std::string_view secret, std::string_view date,
                               std::string_view region, std::string_view service) {
  thread_local std::unordered_map<std::string, std::unique_ptr<SigningKey>> cache;
  std::string id;
  id.reserve(secret.size() + date.size() + region.size() + service.size() + 3);
  id.append(secret).append("\n").append(date).append("\n").append(region).append("\n").append(
      service);
  auto it = cache.find(id);
  if (it != cache.end()) return *it->second;
  if (cache.size() >= 4096) cache.clear();  // bounded: keys roll over daily
  auto made = std::make_unique<SigningKey>(DeriveSigningKey(secret, date, region, service));
  return *cache.emplace(std::move(id), std::move(made)).first->second;
}

std::string CanonicalUri(std::string_view raw_path) {
  if (IsUriCanonical(raw_path, /*encode_slash=*/false)) return std::string(raw_path);
  auto decoded = UriDecode(raw_path);
  return UriEncode(decoded ? *decoded : std::string(raw_path), /*encode_slash=*/false);
}

std::string CanonicalQuery(std::string_view raw_query, std::string_view exclude) {
  // Names and values are used as sent when already canonical (the common case: what SDKs
  // send, presigned URLs included); only the others are decoded and re-encoded.
  boost::container::small_vector<std::pair<std::string_view, std::string_view>, 16> params;
  std::list<std::string> recoded;  // stable storage; a list allocates nothing while empty
  auto canonical = [&](std::string_view x) -> std::string_view {
    if (IsUriCanonical(x, true)) return x;
    auto d = UriDecode(x);
    return recoded.emplace_back(UriEncode(d ? *d : std::string(x), true));
  };
  std::string_view q = raw_query;
  size_t total = 0;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view item = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string_view k = item.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    if (!exclude.empty() && k == exclude) continue;
    params.emplace_back(canonical(k), canonical(v));
    total += params.back().first.size() + params.back().second.size() + 2;
  }
  std::sort(params.begin(), params.end());
  std::string out;
  out.reserve(total);
  for (size_t i = 0; i < params.size(); i++) {
    if (i) out.push_back('&');
    out.append(params[i].first);
    out.push_back('=');
    out.append(params[i].second);
  }
  return out;
}

void AppendCanonicalHeaderValue(std::string* out, std::string_view v) {
  v = Trim(v);
  // Most values hold no tab and no run of spaces: appended whole, not a byte at a time.
  if (v.find('\t') == std::string_view::npos && v.find("  ") == std::string_view::npos) {
    out->append(v);
    return;
  }
  bool space = false, any = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && any) out->push_back(' ');
    space = false;
    any = true;
    out->push_back(c);
  }
}

std::string CanonicalHeaderValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  AppendCanonicalHeaderValue(&out, v);
  return out;
}

bool SigV4Verifier::HasAuth(const RequestView& r) {
  if (!r.header("authorization").empty()) return true;
  bool found;
  FindQueryParam(r.raw_query, "X-Amz-Algorithm", &found);
  return found;
}

Result<AuthResult> SigV4Verifier::Verify(const RequestView& r, AuthFailureDetails* details) const {
  Parsed p;
  bool presigned = false;
  int64_t expires = 0;
  std::string_view auth = r.header("authorization");
  if (!auth.empty()) {
    p.Reserve(auth.size() + 32);  // a lowered SignedHeaders list and a made X-Amz-Date
    SLUICE_RETURN_IF_ERROR(ParseAuthorization(auth, &p));
    p.amz_date = r.header("x-amz-date");
    if (p.amz_date.empty()) {
      auto d = ParseHttpDate(r.header("date"));
      if (!d)
        return Error(Err::kAccessDenied,
                     "AWS authentication requires a valid Date or x-amz-date header");
      p.amz_date = p.Keep(FormatAmzDate(*d));
    }
  } else {
    presigned = true;
    // Decoded values are never longer than the query they come from, and a lowered
    // SignedHeaders list is no longer than its decoded form.
    p.Reserve(2 * r.raw_query.size());
    bool found;
    auto get = [&](std::string_view name) -> Result<std::string_view> {
      std::string_view v = FindQueryParam(r.raw_query, name, &found);
      if (!found)
        return Error(Err::kAuthorizationQueryParametersError,
                     "Query-string authentication version 4 requires the X-Amz-Algorithm, "
                     "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
                     "X-Amz-Expires parameters.");
      if (v.find('%') == std::string_view::npos) return v;
      auto d = UriDecode(v);
      if (!d)
        return Error(Err::kAuthorizationQueryParametersError, "bad escape in " + std::string(name));
      return p.Keep(*d);
    };
    SLUICE_ASSIGN_OR_RETURN(std::string_view alg, get("X-Amz-Algorithm"));
    if (alg != kAlgorithm)
      return Error(Err::kAuthorizationQueryParametersError,
                   "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
    SLUICE_ASSIGN_OR_RETURN(std::string_view cred, get("X-Amz-Credential"));
    if (!ParseCredential(cred, &p))
      return Error(Err::kAuthorizationQueryParametersError, "X-Amz-Credential is malformed");
    SLUICE_ASSIGN_OR_RETURN(p.amz_date, get("X-Amz-Date"));
    SLUICE_ASSIGN_OR_RETURN(std::string_view exp, get("X-Amz-Expires"));
    auto e = ParseUint(exp);
    if (!e || *e > 604800)
      return Error(Err::kAuthorizationQueryParametersError,
                   "X-Amz-Expires must be a number of seconds from 0 to 604800 (seven days)");
    expires = static_cast<int64_t>(*e);
    SLUICE_ASSIGN_OR_RETURN(std::string_view sh, get("X-Amz-SignedHeaders"));
    if (!ParseSignedHeaders(sh, &p))
      return Error(Err::kAuthorizationQueryParametersError, "X-Amz-SignedHeaders is malformed");
    SLUICE_ASSIGN_OR_RETURN(p.signature, get("X-Amz-Signature"));
  }

  if (p.service != service_ || p.terminator != "aws4_request")
    return Malformed("the Credential scope must end with /" + service_ + "/aws4_request");
  auto when = ParseAmzDate(p.amz_date);
  if (!when)
    return Error(Err::kAccessDenied,
                 "X-Amz-Date must be in the ISO8601 basic format YYYYMMDD'T'HHMMSS'Z'");
  if (p.amz_date.compare(0, 8, p.date) != 0)
    return Malformed("the Credential date '" + std::string(p.date) +
                     "' does not match X-Amz-Date '" + std::string(p.amz_date) + "'");
  int64_t now = clock_->NowMicros();
  if (presigned) {
    if (now + kMaxSkewMicros < *when) return Error(Err::kAccessDenied, "Request is not valid yet");
    if (now > *when + expires * 1000000)
      return Error(Err::kExpiredPresignedRequest, "Request has expired");
  } else if (*when > now + kMaxSkewMicros || *when < now - kMaxSkewMicros) {
    details->fields = {{"RequestTime", std::string(p.amz_date)},
                       {"ServerTime", FormatAmzDate(now)},
                       {"MaxAllowedSkewMilliseconds", "900000"}};
    return Error(Err::kRequestTimeTooSkewed,
                 "The difference between the request time and the current time is too large.");
  }

  auto cred = creds_->Lookup(std::string(p.access_key));
  if (!cred) {
    details->fields = {{"AWSAccessKeyId", std::string(p.access_key)}};
    return Error(Err::kInvalidAccessKeyId,
                 "The AWS Access Key Id you provided does not exist in our records.");
  }

  AuthResult res;
  res.presigned = presigned;
  std::string_view payload_hash;
  if (presigned) {
    bool found;
    std::string_view v = FindQueryParam(r.raw_query, "X-Amz-Content-Sha256", &found);
    payload_hash = found ? v : "UNSIGNED-PAYLOAD";
  } else {
    payload_hash = r.header("x-amz-content-sha256");
    if (payload_hash.empty()) payload_hash = r.body_sha256;
    if (payload_hash.empty())
      return Error(Err::kInvalidRequest,
                   "Missing required header for this request: x-amz-content-sha256");
  }
  if (payload_hash == "UNSIGNED-PAYLOAD") {
    res.payload = PayloadMode::kUnsigned;
  } else if (payload_hash == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") {
    res.payload = PayloadMode::kStreamingSigned;
  } else if (payload_hash == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER") {
    res.payload = PayloadMode::kStreamingSignedTrailer;
  } else if (payload_hash == "STREAMING-UNSIGNED-PAYLOAD-TRAILER") {
    res.payload = PayloadMode::kStreamingUnsignedTrailer;
  } else if (payload_hash.size() == 64 &&
             std::all_of(payload_hash.begin(), payload_hash.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
             })) {
    res.payload = PayloadMode::kSha256;
    res.payload_sha256 = ToLower(payload_hash);
  } else {
    return Error(Err::kInvalidArgument,
                 "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                 "STREAMING-*, or a hex SHA-256 of the payload");
  }

  std::string creq;
  creq.reserve(512);
  creq.append(r.method).push_back('\n');
  creq += CanonicalUri(r.raw_path);
  creq.push_back('\n');
  creq += CanonicalQuery(r.raw_query, presigned ? "X-Amz-Signature" : "");
  creq.push_back('\n');
  bool host_signed = false;
  for (std::string_view h : p.signed_headers) {
    creq.append(h).push_back(':');
    AppendCanonicalHeaderValue(&creq, r.header(h));
    creq.push_back('\n');
    if (h == "host") host_signed = true;
  }
  if (!host_signed) return Malformed("the host header must be signed");
  creq.push_back('\n');
  for (size_t i = 0; i < p.signed_headers.size(); i++) {
    if (i) creq.push_back(';');
    creq.append(p.signed_headers[i]);
  }
  creq.push_back('\n');
  creq.append(payload_hash);

  std::string scope;
  scope.reserve(p.date.size() + p.region.size() + p.service.size() + 16);
  scope.append(p.date).append("/").append(p.region).append("/").append(p.service).append(
      "/aws4_request");
  std::string sts;
  sts.reserve(160);
  sts.append(kAlgorithm).push_back('\n');
  sts += p.amz_date;
  sts.push_back('\n');
  sts += scope;
  sts.push_back('\n');
  sts += Sha256Hex(creq);

  const SigningKey& signer = CachedSigner(cred->secret_key, p.date, p.region, p.service);
  const std::string& key = signer.key;
  std::string expected = HexEncode(signer.mac.Mac(sts));
  if (expected.size() != p.signature.size() ||
      CRYPTO_memcmp(expected.data(), p.signature.data(), expected.size()) != 0) {
    details->fields = {{"AWSAccessKeyId", std::string(p.access_key)},
                       {"StringToSign", sts},
                       {"SignatureProvided", std::string(p.signature)},
                       {"CanonicalRequest", creq}};
    return Error(Err::kSignatureDoesNotMatch,
                 "The request signature we calculated does not match the signature you "
                 "provided. Check your key and signing method.");
  }
  SLUICE_RETURN_IF_ERROR(CheckSessionToken(r, *cred, now));
  res.credential = std::move(*cred);
  res.seed_signature = std::move(expected);
  res.signing_key = key;
  res.amz_date = p.amz_date;
  res.scope = std::move(scope);
  return res;
}

}  // namespace sluice::auth
