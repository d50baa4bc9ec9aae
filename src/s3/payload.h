// The request payload as the operations see it: the HTTP body, decoded from aws-chunked
// when the client streamed it, with every integrity check applied while the bytes pass
// (one pass, no second read):
// - MD5 always (the ETag of what was stored), checked against Content-MD5 if sent;
// - SHA-256 when the signature covers the payload (x-amz-content-sha256: <hex>);
// - aws-chunked chunk and trailer signatures (s3/aws_chunked.h);
// - a flexible checksum (x-amz-checksum-<algo>, in a header or a trailer, or just
//   x-amz-sdk-checksum-algorithm to have one computed and stored).
// A mismatch is reported by the Read that reaches the end, before the caller commits,
// so a corrupted upload is never made visible.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/checksum.h"
#include "common/hash.h"
#include "s3/aws_chunked_reader.h"
#include "s3/context.h"

namespace sluice::s3 {

class Payload {
 public:
  // Validates the headers that describe the payload (lengths, Content-MD5, checksum
  // headers) before a byte of the body is read.
  // headers_describe_body=false for CompleteMultipartUpload, whose x-amz-checksum-*
  // headers carry the whole object's checksum, not the request body's.
  static Result<std::unique_ptr<Payload>> Open(Ctx& ctx, bool headers_describe_body = true);
  // The file of a POST form: its length is unknown until the closing delimiter, and the
  // request's own length and checksum headers describe the whole form.
  static std::unique_ptr<Payload> OfFormFile(http::Body& file) {
    return std::unique_ptr<Payload>(new Payload(file, std::nullopt));
  }

  // Fills up to n bytes; 0 at the end, once every check has passed.
  Task<Result<size_t>> Read(char* buf, size_t n);
  // The object's length as the client declared it (decoded length for aws-chunked).
  std::optional<uint64_t> declared_size() const { return declared_; }
  // Raw MD5 of the whole payload; valid after Read returned 0 (after SetMd5 when deferred).
  const std::string& md5() const { return md5_; }
  // The caller hashes the bytes itself (in SIMD lanes with other uploads, common/md5.h)
  // and hands the digest to SetMd5, which checks Content-MD5; call before the first Read.
  void DeferMd5() { defer_md5_ = true; }
  Status SetMd5(std::string raw);
  // The flexible checksum, if one was requested; base64; valid after Read returned 0.
  ChecksumAlgo checksum_algo() const { return checksum_ ? checksum_->algo() : ChecksumAlgo::kNone; }
  const std::string& checksum_b64() const { return checksum_b64_; }
  // Reads the whole payload into memory, up to `limit` bytes (`too_large` beyond).
  Task<Result<std::string>> ReadAll(size_t limit, Err too_large);

 private:
  Payload(http::Body& body, std::optional<uint64_t> declared) : body_(body), declared_(declared) {}
  Status Finish();

  http::Body& body_;
  std::unique_ptr<AwsChunkedReader> chunked_;
  std::optional<uint64_t> declared_;
  uint64_t total_ = 0;
  Hasher md5_hasher_{Hasher::Kind::kMd5};
  std::optional<Hasher> sha_;
  std::string expected_sha_;
  std::optional<std::string> expected_md5_;
  std::unique_ptr<Checksummer> checksum_;
  std::optional<std::string> expected_checksum_;  // raw, from a header
  bool checksum_in_trailer_ = false;
  std::string checksum_b64_;
  std::string md5_;
  bool done_ = false;
  bool defer_md5_ = false;
};

}  // namespace sluice::s3
