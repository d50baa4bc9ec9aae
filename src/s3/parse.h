// Pure parsers for S3 header and query values: ETags, ranges, tags. No HTTP or I/O
// dependency, so the fuzzers build them alone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "meta/api/types.h"

namespace sluice::s3 {

std::string QuoteEtag(std::string_view etag);
// Strips surrounding quotes and a weak "W/" prefix.
std::string_view UnquoteEtag(std::string_view etag);

// x-amz-tagging ("k1=v1&k2=v2") and the Tagging XML body, validated as S3 does.
Result<meta::HeaderList> ParseTaggingHeader(std::string_view v);
Status ValidateTags(const meta::HeaderList& tags);

struct ByteRange {
  uint64_t start = 0;
  uint64_t length = 0;
};
// Parses "bytes=a-b", "bytes=a-", "bytes=-n" against an object size. Returns nullopt for
// a header that should be ignored (absent, not a single byte range), kInvalidRange when
// the range cannot be satisfied.
Result<std::optional<ByteRange>> ParseRange(std::string_view header, uint64_t size);

}  // namespace sluice::s3
