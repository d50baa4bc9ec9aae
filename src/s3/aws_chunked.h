// Decoder for aws-chunked request bodies (Content-Encoding: aws-chunked):
//   STREAMING-AWS4-HMAC-SHA256-PAYLOAD            each chunk's signature verified in order
//   STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER    the same, then signed trailing headers
//   STREAMING-UNSIGNED-PAYLOAD-TRAILER            plain chunks, then trailing headers
// Chunk: "<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n"; the body ends with a zero-size
// chunk, then trailer lines "name:value\r\n" (and x-amz-trailer-signature) and "\r\n".
// A chunk is verified when its last byte has been read, so a tampered chunk fails the read
// that ends it: the caller never commits. Memory: one 64 KiB input buffer.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/hash.h"
#include "http/http.h"

namespace sluice::s3 {

class AwsChunkedReader {
 public:
  struct Signing {
    std::string key;  // the SigV4 signing key of the request
    std::string amz_date;
    std::string scope;
    std::string seed_signature;
  };
  // `signing` is set for the signed variants; `trailer` for the *-TRAILER variants.
  AwsChunkedReader(http::Body& body, std::optional<Signing> signing, bool trailer);

  // Decoded bytes; 0 once the whole body, trailers included, has been read and verified.
  Task<Result<size_t>> Read(char* out, size_t n);
  // Trailing headers (lowercase names), valid after Read returned 0.
  const std::vector<std::pair<std::string, std::string>>& trailers() const { return trailers_; }

 private:
  Task<Status> Fill();
  Task<Result<std::string>> ReadLine();
  Status ParseChunkHeader(std::string_view line);
  Status VerifyChunk(const std::string& data_sha_hex);
  Task<Status> ReadTrailers();

  http::Body& body_;
  std::optional<Signing> signing_;
  bool trailer_;
  std::string buf_;
  size_t pos_ = 0;
  enum class State { kHeader, kData, kDone } state_ = State::kHeader;
  uint64_t chunk_left_ = 0;
  std::string chunk_signature_;
  std::string prev_signature_;
  Hasher chunk_sha_{Hasher::Kind::kSha256};
  std::vector<std::pair<std::string, std::string>> trailers_;
};

}  // namespace sluice::s3
