#include "s3/sse.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iterator>

#include "auth/secret_box.h"
#include "common/frame_cipher.h"
#include "common/hash.h"
#include "common/strings.h"
#include "s3/xml.h"

namespace sluice::s3 {
namespace {

constexpr size_t kSaltSize = 16;
constexpr char kSealAad[] = "sluice sse-s3 object key";

Status BadSse(std::string msg) { return Error(Err::kInvalidArgument, std::move(msg)); }

// The SSE-C three, under `prefix` ("x-amz-" or "x-amz-copy-source-").
Result<SseRequest> ParseCustomer(const http::Request& req, std::string_view prefix) {
  const std::string p(prefix);
  std::string_view algo = req.header(p + "server-side-encryption-customer-algorithm");
  std::string_view key = req.header(p + "server-side-encryption-customer-key");
  std::string_view md5 = req.header(p + "server-side-encryption-customer-key-md5");
  SseRequest out;
  if (algo.empty() && key.empty() && md5.empty()) return out;
  if (algo.empty())
    return BadSse(
        "Requests specifying Server Side Encryption with Customer provided keys must provide a "
        "valid encryption algorithm.");
  if (algo != "AES256")
    return BadSse("The encryption algorithm " + std::string(algo) +
                  " is not supported: SSE-C takes AES256");
  if (key.empty())
    return BadSse(
        "Requests specifying Server Side Encryption with Customer provided keys must provide an "
        "appropriate secret key.");
  auto raw = Base64Decode(key);
  if (!raw || raw->size() != FrameCipher::kKeySize)
    return BadSse("The secret key was invalid for the specified algorithm: it must be 256 bits.");
  if (md5.empty())
    return BadSse(
        "Requests specifying Server Side Encryption with Customer provided keys must provide the "
        "client calculated MD5 of the secret key.");
  auto want = Base64Decode(md5);
  if (!want || *want != Md5(*raw))
    return BadSse("The calculated MD5 hash of the key did not match the hash that was provided.");
  out.mode = SseMode::kCustomer;
  out.customer_key = std::move(*raw);
  out.key_md5 = std::string(md5);
  return out;
}

std::string CustomerCheck(const std::string& key, const std::string& salt) {
  return HmacSha256(key, "sluice sse-c check" + salt);
}

std::string CustomerObjectKey(const std::string& key, const std::string& salt) {
  return HmacSha256(key, "sluice sse-c object key" + salt);
}

}  // namespace

// --- the keyring ------------------------------------------------------------------------

Result<SseKeyring> SseKeyring::Parse(std::string_view text) {
  SseKeyring ring;
  size_t line_no = 0;
  for (std::string_view line : Split(text, '\n')) {
    ++line_no;
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    const size_t sp = line.find(' ');
    auto bytes = sp == std::string_view::npos ? std::nullopt : Base64Decode(Trim(line.substr(sp)));
    if (!bytes || bytes->size() != FrameCipher::kKeySize)
      return Error(Err::kInvalidArgument, "SSE key file, line " + std::to_string(line_no) +
                                              ": expected '<id> <base64 of 32 bytes>'");
    std::string id(line.substr(0, sp));
    if (ring.Find(id))
      return Error(Err::kInvalidArgument, "SSE key file, line " + std::to_string(line_no) +
                                              ": the id " + id + " is used twice");
    ring.keys_.push_back({std::move(id), std::move(*bytes)});
  }
  if (ring.keys_.empty()) return Error(Err::kInvalidArgument, "the SSE key file holds no key");
  return ring;
}

std::string SseKeyring::Format(const std::vector<Key>& keys) {
  std::string out =
      "# sluice SSE-S3 master keys: '<id> <base64>', the last one seals new objects' keys.\n"
      "# Keep every line: older keys still open the objects they sealed.\n";
  for (const auto& k : keys) out += k.id + " " + Base64Encode(k.bytes) + "\n";
  return out;
}

SseKeyring::Key SseKeyring::Generate(const std::vector<Key>& keys, io::Random* random) {
  Key k;
  k.bytes.resize(FrameCipher::kKeySize);
  random->Fill(k.bytes.data(), k.bytes.size());
  for (;;) {
    k.id = random->HexString(4);
    if (std::none_of(keys.begin(), keys.end(), [&](const Key& o) { return o.id == k.id; })) break;
  }
  return k;
}

const SseKeyring::Key* SseKeyring::Find(std::string_view id) const {
  for (const auto& k : keys_)
    if (k.id == id) return &k;
  return nullptr;
}

// --- requests ---------------------------------------------------------------------------

Result<SseRequest> ParseWriteSse(const http::Request& req) {
  SLUICE_ASSIGN_OR_RETURN(SseRequest customer, ParseCustomer(req, "x-amz-"));
  std::string_view sse = req.header("x-amz-server-side-encryption");
  if (!sse.empty() && customer.mode != SseMode::kNone)
    return BadSse(
        "Server Side Encryption with Customer provided key is incompatible with the encryption "
        "method specified");
  if (customer.mode != SseMode::kNone) return customer;
  if (sse.empty()) return SseRequest{};
  if (sse == "AES256") return SseRequest{SseMode::kS3, "", ""};
  if (sse == "aws:kms" || sse == "aws:kms:dsse")
    return Error(Err::kNotImplemented,
                 "x-amz-server-side-encryption: " + std::string(sse) +
                     " asks for SSE-KMS, which this server does not implement (it has no key "
                     "management service); AES256 (SSE-S3) and SSE-C are implemented");
  return BadSse("The encryption method specified is not supported: " + std::string(sse));
}

Result<SseRequest> ParseReadSse(const http::Request& req) { return ParseCustomer(req, "x-amz-"); }

Result<SseRequest> ParseCopySourceSse(const http::Request& req) {
  return ParseCustomer(req, "x-amz-copy-source-");
}

// --- bucket default ----------------------------------------------------------------------

Result<BucketEncryption> ParseBucketEncryption(std::string_view body) {
  pugi::xml_document doc;
  SLUICE_RETURN_IF_ERROR(ParseXml(body, "ServerSideEncryptionConfiguration", &doc));
  auto rules = doc.document_element().children("Rule");
  const auto n = std::distance(rules.begin(), rules.end());
  if (n != 1)
    return Error(Err::kMalformedXML, "ServerSideEncryptionConfiguration takes exactly one Rule");
  pugi::xml_node rule = *rules.begin();
  pugi::xml_node apply = rule.child("ApplyServerSideEncryptionByDefault");
  if (!apply) return Error(Err::kMalformedXML, "the Rule needs ApplyServerSideEncryptionByDefault");
  const std::string algo = apply.child("SSEAlgorithm").text().as_string();
  if (algo == "aws:kms" || algo == "aws:kms:dsse")
    return Error(Err::kNotImplemented,
                 "SSE-KMS (" + algo +
                     ") is not implemented: this server has no key management service; "
                     "AES256 (SSE-S3) is");
  if (algo != "AES256")
    return Error(Err::kMalformedXML, "SSEAlgorithm must be AES256, not '" + algo + "'");
  if (apply.child("KMSMasterKeyID"))
    return Error(Err::kInvalidArgument, "a KMSMasterKeyID applies only to aws:kms");
  BucketEncryption d;
  if (pugi::xml_node bk = rule.child("BucketKeyEnabled")) {
    const std::string v = bk.text().as_string();
    if (v != "true" && v != "false")
      return Error(Err::kMalformedXML, "BucketKeyEnabled must be true or false");
    d.bucket_key = v == "true";
  }
  return d;
}

// --- records ----------------------------------------------------------------------------

std::string SseRecord::Encode() const {
  if (mode == SseMode::kS3)
    return "1 S3 " + Base64Encode(salt) + " " + master_id + " " + sealed_key;
  if (mode == SseMode::kCustomer) return "1 C " + Base64Encode(salt) + " " + Base64Encode(check);
  return "";
}

Result<SseRecord> SseRecord::Decode(std::string_view encoded) {
  SseRecord r;
  if (encoded.empty()) return r;
  const std::vector<std::string_view> f = Split(encoded, ' ');
  auto bad = [] { return Error(Err::kCorruption, "an object's encryption record is malformed"); };
  if (f.size() < 3 || f[0] != "1") return bad();
  auto salt = Base64Decode(f[2]);
  if (!salt || salt->size() != kSaltSize) return bad();
  r.salt = std::move(*salt);
  if (f[1] == "S3" && f.size() == 5) {
    r.mode = SseMode::kS3;
    r.master_id = std::string(f[3]);
    r.sealed_key = std::string(f[4]);
    return r;
  }
  if (f[1] == "C" && f.size() == 4) {
    auto check = Base64Decode(f[3]);
    if (!check) return bad();
    r.mode = SseMode::kCustomer;
    r.check = std::move(*check);
    return r;
  }
  return bad();
}

Result<std::pair<SseRecord, std::string>> NewObjectKey(const SseRequest& req,
                                                       const SseKeyring* keyring,
                                                       io::Random* random) {
  SseRecord rec;
  rec.mode = req.mode;
  rec.salt.resize(kSaltSize);
  random->Fill(rec.salt.data(), rec.salt.size());
  std::string key;
  if (req.mode == SseMode::kS3) {
    if (!keyring)
      return Error(Err::kNotImplemented, "SSE-S3 needs a master key file, which is not loaded");
    key.resize(FrameCipher::kKeySize);
    random->Fill(key.data(), key.size());
    const auto& master = keyring->current();
    rec.master_id = master.id;
    rec.sealed_key = auth::SecretBox(master.bytes, random).Seal(key, kSealAad + rec.salt);
  } else if (req.mode == SseMode::kCustomer) {
    rec.check = CustomerCheck(req.customer_key, rec.salt);
    key = CustomerObjectKey(req.customer_key, rec.salt);
  } else {
    return Error(Err::kInternal, "NewObjectKey without an encryption mode");
  }
  return std::pair{std::move(rec), std::move(key)};
}

Result<std::string> ObjectKeyFor(const SseRecord& rec, const SseRequest& req,
                                 const SseKeyring* keyring) {
  if (rec.mode == SseMode::kCustomer) {
    if (req.mode != SseMode::kCustomer)
      return Error(Err::kInvalidRequest,
                   "The object was stored using a form of Server Side Encryption. The correct "
                   "parameters must be provided to retrieve the object.");
    const std::string check = CustomerCheck(req.customer_key, rec.salt);
    if (check.size() != rec.check.size() ||
        CRYPTO_memcmp(check.data(), rec.check.data(), check.size()) != 0)
      return Error(Err::kAccessDenied,
                   "The provided SSE-C key is not the one the object was written with");
    return CustomerObjectKey(req.customer_key, rec.salt);
  }
  if (req.mode == SseMode::kCustomer)
    return Error(Err::kInvalidRequest,
                 "The encryption parameters are not applicable to this object.");
  if (rec.mode == SseMode::kNone) return std::string();
  if (!keyring) return Error(Err::kInternal, "an SSE-S3 object, and no master key file loaded");
  const SseKeyring::Key* master = keyring->Find(rec.master_id);
  if (!master)
    return Error(Err::kInternal, "an SSE-S3 object sealed by master key " + rec.master_id +
                                     ", which the key file no longer holds");
  // The box's random source only seals; opening needs none.
  auto key = auth::SecretBox(master->bytes, nullptr).Open(rec.sealed_key, kSealAad + rec.salt);
  if (!key.ok() || key->size() != FrameCipher::kKeySize)
    return Error(Err::kInternal,
                 "an SSE-S3 object's key does not open under master key " + rec.master_id);
  return std::move(key).value();
}

Result<std::string> ObjectKeyFor(std::string_view encoded, const SseRequest& req,
                                 const SseKeyring* keyring) {
  SLUICE_ASSIGN_OR_RETURN(SseRecord rec, SseRecord::Decode(encoded));
  return ObjectKeyFor(rec, req, keyring);
}

std::vector<std::pair<std::string, std::string>> SseResponseHeaders(const SseRecord& rec,
                                                                    const SseRequest& req) {
  if (rec.mode == SseMode::kS3) return {{"x-amz-server-side-encryption", "AES256"}};
  if (rec.mode == SseMode::kCustomer)
    return {{"x-amz-server-side-encryption-customer-algorithm", "AES256"},
            {"x-amz-server-side-encryption-customer-key-md5", req.key_md5}};
  return {};
}

}  // namespace sluice::s3
