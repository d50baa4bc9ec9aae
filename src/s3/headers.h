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

// The response-* overrides of a GET or HEAD: refused for an anonymous request (as S3 does:
// they would let anyone rewrite the headers of a public object's answer, InvalidRequest),
// and refused when a value holds a control character (CR and LF would split the answer's
// head: InvalidArgument).
Status CheckResponseOverrides(const Query& q, bool anonymous);

// ETag, Last-Modified, Content-Type and the stored headers, then response-* overrides.
void AddObjectHeaders(http::ResponseHead& head, const meta::ObjectMeta& m, const Query& q);

// x-amz-checksum-<algo> and x-amz-checksum-type of a stored object, if it has one.
void AddChecksumHeaders(http::ResponseHead& head, const meta::ObjectMeta& m);

// The same for part `part` (0-based) of a multipart object: the part's checksum and the
// object's checksum type (GET/HEAD with partNumber=N), if the parts have checksums.
void AddPartChecksumHeaders(http::ResponseHead& head, const meta::ObjectMeta& m, size_t part);

// GET/HEAD preconditions in S3's precedence: kPreconditionFailed (412) or kNotModified (304).
Status CheckReadPreconditions(const http::Request& req, const meta::ObjectMeta& m);

// ?partNumber=N of a GET or HEAD: N (1 to 10000), nullopt when absent; kInvalidArgument for
// another value, kInvalidRequest with a Range header too.
Result<std::optional<uint32_t>> ParsePartNumber(const http::Request& req, const Query& q);

// The Range header of a read of `size` bytes: when it names a satisfiable range, sets
// *offset and *length to it and makes `head` a 206 with its Content-Range; absent or
// ignorable, leaves them (the whole); kInvalidRange when it cannot be satisfied.
Status ApplyRange(const http::Request& req, uint64_t size, http::ResponseHead& head,
                  uint64_t* offset, uint64_t* length);
// x-amz-copy-source-if-*: kPreconditionFailed on any failure.
Status CheckCopySourcePreconditions(const http::Request& req, const meta::ObjectMeta& m);
// The bucket and key an x-amz-copy-source names, decoded, best effort (empty when it names
// none): for checks before the copy runs. The copy itself validates the header strictly.
std::pair<std::string, std::string> SplitCopySource(std::string_view raw);

// The canned ACL of a write (x-amz-acl), as stored: "" for private and the
// bucket-owner-* ACLs (one account owns everything here), else "public-read",
// "public-read-write" or "authenticated-read", which s3/authz.cc turns into grants, or
// kNoGrants for an ACL that grants nothing at all. x-amz-grant-* headers are read as grants
// (CannedAclOfGrants).
Result<std::string> ParseCannedAcl(const http::Request& req, std::string_view owner_id);

// The stored ACL of an AccessControlPolicy with an empty grant list.
inline constexpr std::string_view kNoGrants = "no-grants";

// One grant as a request states it: an x-amz-grant-* entry or an AccessControlPolicy Grant.
struct AclGrant {
  std::string kind;  // "id", "emailAddress" or "uri"
  std::string value;
  std::string permission;  // READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL
};
// The stored ACL a list of grants stands for. A grantee naming nobody is refused first (400
// InvalidArgument; UnresolvableGrantByEmailAddress for an email address: this server keeps
// none), then grants no canned ACL expresses are 501. `owner_id` is the one canonical user.
Result<std::string> CannedAclOfGrants(const std::vector<AclGrant>& grants,
                                      std::string_view owner_id);

// The write conditions of If-None-Match / If-Match on PUT and Complete.
Result<meta::WriteCondition> ParseWriteCondition(const http::Request& req);

}  // namespace sluice::s3
