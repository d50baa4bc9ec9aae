// Decoder for aws-chunked request bodies (Content-Encoding: aws-chunked):
//   STREAMING-AWS4-HMAC-SHA256-PAYLOAD            each chunk's signature verified in order
//   STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER    the same, then signed trailing headers
//   STREAMING-UNSIGNED-PAYLOAD-TRAILER            plain chunks, then trailing headers
// Chunk: "<hex size>[;chunk-signature=<sig>]\r\n<data>\r\n"; the body ends with a zero-size
// chunk, then trailer lines "name:value\r\n" (and x-amz-trailer-signature) and "\r\n".
//
// AwsChunkedParser is a synchronous push parser (no I/O, fuzzed by tests/fuzz); the reader
// wraps it around an http::Body. A chunk is verified when its last byte has been parsed,
// so a tampered chunk fails before the caller can commit. Memory: one 64 KiB buffer.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/hash.h"
#include "common/status.h"

namespace sluice::s3 {

class AwsChunkedParser {
 public:
  struct Signing {
    std::string key;  // the SigV4 signing key of the request
    std::string amz_date;
    std::string scope;
    std::string seed_signature;
  };
  AwsChunkedParser(std::optional<Signing> signing, bool trailer);

  // Consumes bytes from the front of `in` and writes up to `cap` decoded bytes to `out`
  // (*produced of them). Stops early at the end of the body (done()).
  Status Feed(std::string_view* in, char* out, size_t cap, size_t* produced);
  bool done() const { return state_ == State::kDone; }
  // Trailing headers (lowercase names), valid once done().
  const std::vector<std::pair<std::string, std::string>>& trailers() const { return trailers_; }

 private:
  enum class State { kHeader, kData, kDataEnd, kTrailer, kFinalLine, kDone };
  Status OnLine(std::string_view line);
  Status VerifyChunk(const std::string& data_sha_hex);
  Status VerifyTrailer();

  std::optional<Signing> signing_;
  bool trailer_;
  State state_ = State::kHeader;
  std::string line_;
  uint64_t chunk_left_ = 0;
  int crlf_seen_ = 0;
  std::string chunk_signature_;
  std::string prev_signature_;
  Hasher chunk_sha_{Hasher::Kind::kSha256};
  std::string trailer_canonical_;
  std::string trailer_signature_;
  std::vector<std::pair<std::string, std::string>> trailers_;
};

}  // namespace sluice::s3
