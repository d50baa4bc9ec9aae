// Object headers in and out: stored metadata, tagging, conditional requests and ranges.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/http.h"
#include "meta/api/types.h"
#include "s3/context.h"

namespace sluice::s3 {

std::string QuoteEtag(std::string_view etag);
// Strips surrounding quotes and a weak "W/" prefix.
std::string_view UnquoteEtag(std::string_view etag);

// Content-Type and the stored headers (Content-Encoding, Content-Disposition,
// Cache-Control, Expires, Content-Language, x-amz-meta-*) of a write request.
Status ExtractObjectHeaders(const http::Request& req, const Limits& limits,
                            std::string* content_type, meta::HeaderList* headers);

// x-amz-tagging ("k1=v1&k2=v2") and the Tagging XML body, validated as S3 does.
Result<meta::HeaderList> ParseTaggingHeader(std::string_view v);
Status ValidateTags(const meta::HeaderList& tags);

// ETag, Last-Modified, Content-Type and the stored headers, then response-* overrides.
void AddObjectHeaders(http::ResponseHead& head, const meta::ObjectMeta& m, const Query& q);

// GET/HEAD preconditions in S3's precedence: kPreconditionFailed (412) or kNotModified (304).
Status CheckReadPreconditions(const http::Request& req, const meta::ObjectMeta& m);
// x-amz-copy-source-if-*: kPreconditionFailed on any failure.
Status CheckCopySourcePreconditions(const http::Request& req, const meta::ObjectMeta& m);

struct ByteRange {
  uint64_t start = 0;
  uint64_t length = 0;
};
// Parses "bytes=a-b", "bytes=a-", "bytes=-n" against an object size. Returns nullopt for
// a header that should be ignored (absent, not a single byte range), kInvalidRange when
// the range cannot be satisfied.
Result<std::optional<ByteRange>> ParseRange(std::string_view header, uint64_t size);

// The write conditions of If-None-Match / If-Match on PUT and Complete.
Result<meta::WriteCondition> ParseWriteCondition(const http::Request& req);

}  // namespace sluice::s3
