// AwsChunkedParser over an http::Body: reads raw bytes as needed and yields decoded ones.
#pragma once

#include <memory>

#include "http/http.h"
#include "s3/aws_chunked.h"

namespace sluice::s3 {

class AwsChunkedReader {
 public:
  AwsChunkedReader(http::Body& body, std::optional<AwsChunkedParser::Signing> signing, bool trailer)
      : body_(body), parser_(std::move(signing), trailer), buf_(new char[kBufferSize]) {}
  // Decoded bytes; 0 once the whole body, trailers included, has been read and verified.
  Task<Result<size_t>> Read(char* out, size_t n);
  const std::vector<std::pair<std::string, std::string>>& trailers() const {
    return parser_.trailers();
  }

 private:
  static constexpr size_t kBufferSize = size_t{64} * 1024;
  http::Body& body_;
  AwsChunkedParser parser_;
  std::unique_ptr<char[]> buf_;
  std::string_view pending_;
};

}  // namespace sluice::s3
