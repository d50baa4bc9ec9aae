// Object headers in and out: stored metadata, conditional requests and write conditions.
// The pure parsers they use live in s3/parse.h.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/http.h"
#include "meta/api/types.h"
#include "s3/context.h"
#include "s3/parse.h"

namespace sluice::s3 {

// Content-Type and the stored headers (Content-Encoding, Content-Disposition,
// Cache-Control, Expires, Content-Language, x-amz-meta-*) of a write request.
Status ExtractObjectHeaders(const http::Request& req, const Limits& limits,
                            std::string* content_type, meta::HeaderList* headers);

// ExtractObjectHeaders plus the x-amz-tagging header: what PutObject and
// CreateMultipartUpload store.
Status ExtractObjectFields(const http::Request& req, const Limits& limits,
                           std::string* content_type, meta::HeaderList* headers,
                           meta::HeaderList* tags);

// ETag, Last-Modified, Content-Type and the stored headers, then response-* overrides.
void AddObjectHeaders(http::ResponseHead& head, const meta::ObjectMeta& m, const Query& q);

// x-amz-checksum-<algo> and x-amz-checksum-type of a stored object, if it has one.
void AddChecksumHeaders(http::ResponseHead& head, const meta::ObjectMeta& m);

// GET/HEAD preconditions in S3's precedence: kPreconditionFailed (412) or kNotModified (304).
Status CheckReadPreconditions(const http::Request& req, const meta::ObjectMeta& m);
// x-amz-copy-source-if-*: kPreconditionFailed on any failure.
Status CheckCopySourcePreconditions(const http::Request& req, const meta::ObjectMeta& m);

// Canned ACLs (x-amz-acl) and grant headers on a write. Every object is private to its
// owner until bucket policies exist, so "private", "bucket-owner-full-control" and
// "bucket-owner-read" are accepted (they change nothing) and anything that would make
// data public is refused with NotImplemented rather than silently ignored.
Status CheckCannedAcl(const http::Request& req);

// The write conditions of If-None-Match / If-Match on PUT and Complete.
Result<meta::WriteCondition> ParseWriteCondition(const http::Request& req);

}  // namespace sluice::s3
