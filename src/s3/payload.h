// The request payload as the operations see it: the HTTP body, with every integrity
// check applied while the bytes pass (one pass, no second read):
// - MD5 always (it is the ETag of what was stored), checked against Content-MD5 if sent;
// - SHA-256 when the signature covers the payload (x-amz-content-sha256: <hex>).
// A mismatch is reported by the Read that reaches the end, before the caller commits,
// so a corrupted upload is never made visible.
//
// aws-chunked bodies (STREAMING-*) are refused here with NotImplemented until their
// decoder lands; it will sit between the HTTP body and this reader.
#pragma once

#include <optional>
#include <string>

#include "common/hash.h"
#include "s3/context.h"

namespace sluice::s3 {

class Payload {
 public:
  // Validates the headers that describe the payload (Content-MD5 syntax, length).
  static Result<std::unique_ptr<Payload>> Open(Ctx& ctx);

  // Fills up to n bytes; 0 at the end, once every check has passed.
  Task<Result<size_t>> Read(char* buf, size_t n);
  // Declared length (Content-Length), if any.
  std::optional<uint64_t> declared_size() const { return declared_; }
  uint64_t bytes() const { return total_; }
  // Raw MD5 of the whole payload; valid after Read returned 0.
  const std::string& md5() const { return md5_; }
  // Reads the whole payload into memory; kEntityTooLarge/kMalformedXML-style limits are
  // the caller's: `limit` bounds what is accepted (err is returned beyond it).
  Task<Result<std::string>> ReadAll(size_t limit, Err too_large);

 private:
  Payload(http::Body& body, std::optional<uint64_t> declared) : body_(body), declared_(declared) {}
  Status Finish();

  http::Body& body_;
  std::optional<uint64_t> declared_;
  uint64_t total_ = 0;
  Hasher md5_hasher_{Hasher::Kind::kMd5};
  std::optional<Hasher> sha_;
  std::string expected_sha_;
  std::optional<std::string> expected_md5_;
  std::string md5_;
  bool done_ = false;
};

}  // namespace sluice::s3
