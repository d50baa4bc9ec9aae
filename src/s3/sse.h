// Server-side encryption at rest (docs/encryption.md): SSE-S3, whose object keys are sealed
// under a master key the server keeps (a keyring, so the master key can be rotated without
// rewriting data), and SSE-C, whose key the client sends with every request and the server
// never stores (only a salted check, to refuse a wrong key).
//
// Every encrypted object has its own random salt. Each run of bytes it is stored in (a data
// id) is encrypted under its own key, HMAC-SHA256(object key, data id), in authenticated
// frames (common/frame_cipher.h); the object key is random and sealed (SSE-S3), or derived
// from the customer's key and the salt (SSE-C).
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "http/http.h"
#include "io/env.h"
#include "storage/api/data_store.h"

namespace sluice::s3 {

// The SSE-S3 master keys: the newest seals new objects' keys; older ones still open the
// keys they sealed. The key file holds one key per line, "<id> <base64 of 32 bytes>".
class SseKeyring {
 public:
  struct Key {
    std::string id;
    std::string bytes;  // 32 raw bytes
  };
  // kInvalidArgument naming the line when the text is malformed or holds no key.
  static Result<SseKeyring> Parse(std::string_view text);
  static std::string Format(const std::vector<Key>& keys);
  // A new key, with an id that no key of `keys` has.
  static Key Generate(const std::vector<Key>& keys, io::Random* random);

  const Key& current() const { return keys_.back(); }
  const Key* Find(std::string_view id) const;
  const std::vector<Key>& keys() const { return keys_; }

 private:
  std::vector<Key> keys_;
};

enum class SseMode { kNone, kS3, kCustomer };

// What a request asks for, from its headers.
struct SseRequest {
  SseMode mode = SseMode::kNone;
  std::string customer_key;  // SSE-C: 32 raw bytes
  std::string key_md5;       // SSE-C: base64 MD5 of the key, as the client sent it
};
// PutObject's headers: x-amz-server-side-encryption (AES256; aws:kms is 501) or the SSE-C
// three. kInvalidArgument (400) for a wrong algorithm, a key that is not 256 bits or an
// MD5 that does not match it, or both kinds at once.
Result<SseRequest> ParseWriteSse(const http::Request& req);
// The SSE-C headers of a read (GetObject, HeadObject); mode kNone when absent.
Result<SseRequest> ParseReadSse(const http::Request& req);
// The x-amz-copy-source-server-side-encryption-customer-* headers of a copy.
Result<SseRequest> ParseCopySourceSse(const http::Request& req);

// A PutBucketEncryption body: one Rule applying SSEAlgorithm AES256 by default, with an
// optional BucketKeyEnabled (echoed back; it saves KMS calls, so it changes nothing here).
// kMalformedXML for a body S3 would refuse, kNotImplemented for aws:kms.
struct BucketEncryption {
  bool bucket_key = false;
};
Result<BucketEncryption> ParseBucketEncryption(std::string_view body);

// How a stored object is encrypted: kept in its record (meta::ObjectMeta::encryption).
struct SseRecord {
  SseMode mode = SseMode::kNone;
  std::string salt;        // 16 random bytes
  std::string master_id;   // SSE-S3: the master key that sealed `sealed_key`
  std::string sealed_key;  // SSE-S3: the object key, sealed (base64)
  std::string check;       // SSE-C: HMAC of the customer's key and the salt
  std::string Encode() const;
  static Result<SseRecord> Decode(std::string_view encoded);  // kCorruption when malformed
};

// A new object's record and key, for what `req` asks (mode kS3 or kCustomer).
// kNotImplemented for SSE-S3 when the server has no keyring.
Result<std::pair<SseRecord, std::string>> NewObjectKey(const SseRequest& req,
                                                       const SseKeyring* keyring,
                                                       io::Random* random);
// The key of a stored object, for a read that sent `req`: SSE-C needs the customer's key
// (400 InvalidRequest without it, 403 AccessDenied when it is not the one the object was
// written with); a plain object refuses SSE-C headers (400 InvalidRequest).
Result<std::string> ObjectKeyFor(const SseRecord& rec, const SseRequest& req,
                                 const SseKeyring* keyring);
// The same for a stored record's encoded form: "" for a plain object read without SSE-C.
Result<std::string> ObjectKeyFor(std::string_view encoded, const SseRequest& req,
                                 const SseKeyring* keyring);

// The response headers S3 gives for an encrypted object.
std::vector<std::pair<std::string, std::string>> SseResponseHeaders(const SseRecord& rec,
                                                                    const SseRequest& req);

// A writer that stores what it is given encrypted under the key of `inner`'s data id.
// size() counts plaintext. Appends may run on the blocking pool, like the inner writer's.
std::unique_ptr<storage::DataWriter> EncryptingWriter(std::unique_ptr<storage::DataWriter> inner,
                                                      std::string_view object_key);
// A reader of encrypted data: offsets and sizes are the plaintext's; Send reads and
// decrypts on `pool` (null: inline, for callers already off the I/O threads).
std::unique_ptr<storage::DataReader> DecryptingReader(std::unique_ptr<storage::DataReader> inner,
                                                      std::string_view object_key,
                                                      const std::string& data_id,
                                                      boost::asio::thread_pool* pool);

}  // namespace sluice::s3
