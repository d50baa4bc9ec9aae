// CopyObject and UploadPartCopy: the source is read and the copy written on the blocking
// pool, so a 5 GiB copy never stalls the I/O thread that accepted it.
#include "common/hash.h"
#include "common/strings.h"
#include "s3/authz.h"
#include "s3/headers.h"
#include "s3/object_io.h"
#include "s3/ops/ops.h"
#include "s3/replica.h"
#include "s3/replication.h"
#include "s3/respond.h"
#include "s3/router.h"
#include "s3/sse.h"
#include "s3/tar_members.h"
#include "s3/versions.h"

namespace sluice::s3::ops {
namespace {

struct Source {
  BucketName bucket;
  ObjectKey key;
  VersionId version;  // ?versionId= of x-amz-copy-source; empty: the latest
};

Result<Source> ParseCopySource(std::string_view raw) {
  size_t q = raw.find('?');
  std::string_view path = raw.substr(0, q);
  VersionId version;
  if (q != std::string_view::npos) {
    std::string_view query = raw.substr(q + 1);
    if (!query.starts_with("versionId="))
      return Error(Err::kInvalidArgument, "The copy source may name only a versionId");
    SLUICE_ASSIGN_OR_RETURN(version, VersionId::Parse(query.substr(10)));
  }
  auto decoded = UriDecode(path);
  if (!decoded) return Error(Err::kInvalidArgument, "Invalid copy source encoding");
  std::string_view p = *decoded;
  if (p.starts_with('/')) p.remove_prefix(1);
  size_t slash = p.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == p.size())
    return Error(Err::kInvalidArgument,
                 "Copy Source must mention the source bucket and key: sourcebucket/sourcekey");
  Source s;
  SLUICE_ASSIGN_OR_RETURN(s.bucket, ParseBucketName(p.substr(0, slash)));
  SLUICE_ASSIGN_OR_RETURN(s.key, ParseObjectKey(p.substr(slash + 1)));
  s.version = version;
  return s;
}

Task<Result<meta::ObjectMeta>> LoadSource(Ctx& ctx, Source* src) {
  SLUICE_CO_ASSIGN_OR_RETURN(*src, ParseCopySource(ctx.req.header("x-amz-copy-source")));
  SLUICE_CO_ASSIGN_OR_RETURN(meta::ObjectMeta m,
                             co_await LookupVersion(ctx, src->bucket, src->key, src->version));
  if (m.delete_marker) {
    // A marker named by id is 400 InvalidRequest, as S3 answers; a marker on top, no key.
    if (!src->version.empty())
      co_return Error(Err::kInvalidRequest,
                      "The source of a copy request may not specifically "
                      "refer to a delete marker by version id.");
    co_return Error(Err::kNoSuchKey, "The specified key does not exist.");
  }
  SLUICE_CO_RETURN_IF_ERROR(CheckCopySourcePreconditions(ctx.req, m));
  co_return std::move(m);
}

// The key of an encrypted source: SSE-C needs x-amz-copy-source-server-side-encryption-
// customer-*; empty for a plain one.
Result<std::string> SourceKey(const Ctx& ctx, const meta::ObjectMeta& sm) {
  SseRequest asked;
  if (ctx.sse_headers) {
    SLUICE_ASSIGN_OR_RETURN(asked, ParseCopySourceSse(ctx.req));
  }
  if (sm.encryption.empty() && asked.mode == SseMode::kNone) return std::string();
  return ObjectKeyFor(sm.encryption, asked, ctx.svc.sse_keys);
}

}  // namespace

Task<Status> CopyObject(Ctx& ctx) {
  const Services& svc = ctx.svc;
  if (ctx.req.has_header(kReplicaVersionHeader) || ctx.req.has_header(kReplicaMtimeHeader))
    co_return Error(Err::kNotImplemented,
                    "a replica is written by PutObject or "
                    "CompleteMultipartUpload, not by CopyObject");
  Source src;
  SLUICE_CO_ASSIGN_OR_RETURN(meta::ObjectMeta sm, co_await LoadSource(ctx, &src));
  if (sm.size > svc.limits.max_object_size)
    co_return Error(Err::kInvalidRequest,
                    "The specified copy source is larger than the maximum "
                    "allowable size for a copy source: 5368709120");
  std::string_view directive = ctx.req.header("x-amz-metadata-directive");
  if (!directive.empty() && directive != "COPY" && directive != "REPLACE")
    co_return Error(Err::kInvalidArgument, "Unknown metadata directive.");
  std::string_view tag_directive = ctx.req.header("x-amz-tagging-directive");
  if (!tag_directive.empty() && tag_directive != "COPY" && tag_directive != "REPLACE")
    co_return Error(Err::kInvalidArgument, "Unknown tagging directive.");
  const bool replace = directive == "REPLACE";
  SLUICE_CO_ASSIGN_OR_RETURN(std::string src_key, SourceKey(ctx, sm));
  // The copy's encryption: the request's headers, else the bucket's default (never the
  // source's: S3 does the same).
  SLUICE_CO_ASSIGN_OR_RETURN(SseRequest sse, co_await WriteEncryption(ctx));
  const bool sse_asked = (ctx.sse_headers && ctx.req.has_header("x-amz-server-side-encryption")) ||
                         sse.mode == SseMode::kCustomer;
  if (src.bucket == ctx.bucket && src.key == ctx.key && src.version.empty() && !replace &&
      !sse_asked)
    co_return Error(Err::kInvalidRequest,
                    "This copy request is illegal because it is trying to copy an object to "
                    "itself without changing the object's metadata, storage class, website "
                    "redirect location or encryption attributes.");
  SLUICE_CO_ASSIGN_OR_RETURN(meta::WriteCondition cond, ParseWriteCondition(ctx.req));
  SLUICE_CO_ASSIGN_OR_RETURN(std::string acl,
                             ParseCannedAcl(ctx.req, ctx.auth.credential.owner_id));
  if (!acl.empty()) SLUICE_CO_RETURN_IF_ERROR(co_await CheckAclWrite(ctx, ctx.bucket, acl));
  SLUICE_CO_ASSIGN_OR_RETURN(meta::BucketInfo bucket, co_await svc.index->GetBucket(ctx.bucket));

  meta::ObjectMeta m;
  m.acl = std::move(acl);
  // Object Lock settings are the request's (or the bucket default), never the source's.
  SLUICE_CO_RETURN_IF_ERROR(
      ObjectLockForWrite(ctx.req, bucket, svc.clock->NowMicros(), &m.retention, &m.legal_hold));
  if (replace) {
    SLUICE_CO_RETURN_IF_ERROR(
        ExtractObjectHeaders(ctx.req, svc.limits, &m.content_type, &m.headers));
  } else {
    m.content_type = sm.content_type;
    m.headers = sm.headers;
  }
  if (tag_directive == "REPLACE") {
    SLUICE_CO_ASSIGN_OR_RETURN(m.tags, ParseTaggingHeader(ctx.req.header("x-amz-tagging")));
  } else {
    m.tags = sm.tags;
  }
  std::optional<std::pair<SseRecord, std::string>> enc;  // the copy's record and key
  if (sse.mode != SseMode::kNone) {
    SLUICE_CO_ASSIGN_OR_RETURN(auto made, NewObjectKey(sse, svc.sse_keys, svc.random));
    enc.emplace(std::move(made));
  }
  const std::string owner = meta::DataOwner{ctx.bucket, ctx.key, {}}.Encode();
  std::string_view dst_key;  // (no ?: inside a co_await expression: GCC 12 miscompiles it)
  if (enc) dst_key = enc->second;
  SLUICE_CO_ASSIGN_OR_RETURN(Stored stored,
                             co_await CopyData(svc, sm, 0, sm.size, true, owner, src_key, dst_key));
  std::vector<std::string> new_ids;
  const int64_t now = svc.clock->NowMicros();
  AttachStored(stored, now, &m, &new_ids);
  if (enc) {
    m.encryption = enc->first.Encode();
    if (sse.mode == SseMode::kCustomer)
      m.etag = HexEncode(HmacSha256(enc->second, stored.md5).substr(0, 16));
  }
  // A copy of a tar archive gets its own member table, under its own data (not when the
  // copy is encrypted: its stored bytes are ciphertext).
  if (sm.tar_members && !enc) {
    Status scanned = co_await ScanMembers(svc, &m);
    if (!scanned.ok()) co_return SettleWrite(svc, new_ids, std::move(scanned), {});
  }
  m.version = NewVersionStamp(svc, now);
  MarkForReplication(ctx.access ? ctx.access->replication.get() : nullptr, ctx.key.str(), &m);
  std::vector<std::string> released;
  auto written = co_await svc.index->PutObject(ctx.bucket, ctx.key, m, cond, &released);
  SLUICE_CO_RETURN_IF_ERROR(SettleWrite(svc, new_ids, written.status(), std::move(released)));
  XmlDoc doc("CopyObjectResult");
  doc.root().Add("LastModified", FormatIso8601(m.mtime_micros)).Add("ETag", QuoteEtag(m.etag));
  http::ResponseHead head;
  head.status = 200;
  AddVersionHeader(head, written->version);
  if (!sm.version.empty()) head.Set("x-amz-copy-source-version-id", sm.version.ToString());
  if (enc)
    for (auto& [name, value] : SseResponseHeaders(enc->first, sse)) head.Set(name, value);
  co_return co_await SendXml(ctx, doc, std::move(head));
}

Task<Status> UploadPartCopy(Ctx& ctx) {
  const Services& svc = ctx.svc;
  auto n = ParseUint(ctx.query.Get("partNumber"));
  if (!n || *n < 1 || *n > 10000)
    co_return Error(Err::kInvalidArgument,
                    "Part number must be an integer between 1 and 10000, inclusive");
  SLUICE_CO_ASSIGN_OR_RETURN(UploadId upload_id, ParseUploadId(ctx.query.Get("uploadId")));
  SLUICE_CO_ASSIGN_OR_RETURN(meta::UploadInfo upload,
                             co_await svc.index->GetUpload(ctx.bucket, ctx.key, upload_id));
  Source src;
  SLUICE_CO_ASSIGN_OR_RETURN(meta::ObjectMeta sm, co_await LoadSource(ctx, &src));
  SLUICE_CO_ASSIGN_OR_RETURN(std::string src_key, SourceKey(ctx, sm));
  // The part is encrypted as the upload is: SSE-C with the upload's key, sent again.
  std::string dst_key;
  if (!upload.encryption.empty() ||
      ctx.req.has_header("x-amz-server-side-encryption-customer-key")) {
    SLUICE_CO_ASSIGN_OR_RETURN(SseRequest asked, ParseReadSse(ctx.req));
    SLUICE_CO_ASSIGN_OR_RETURN(dst_key, ObjectKeyFor(upload.encryption, asked, svc.sse_keys));
  }
  uint64_t offset = 0, len = sm.size;
  if (ctx.req.has_header("x-amz-copy-source-range")) {
    std::string_view r = Trim(ctx.req.header("x-amz-copy-source-range"));
    size_t dash = r.find('-');
    std::optional<uint64_t> a, b;
    if (r.starts_with("bytes=") && dash != std::string_view::npos) {
      a = ParseUint(r.substr(6, dash - 6));
      b = ParseUint(r.substr(dash + 1));
    }
    if (!a || !b || *b < *a)
      co_return Error(Err::kInvalidArgument,
                      "The x-amz-copy-source-range value must be of the form "
                      "bytes=first-last where first and last are the "
                      "zero-based offsets of the first and last bytes to copy");
    if (*b >= sm.size)
      co_return Error(Err::kInvalidRange, "The requested range is not satisfiable");
    offset = *a;
    len = *b - *a + 1;
  }
  if (len > svc.limits.max_object_size) co_return Error(Err::kEntityTooLarge, "");
  const std::string owner = meta::DataOwner{ctx.bucket, ctx.key, upload_id}.Encode();
  SLUICE_CO_ASSIGN_OR_RETURN(
      Stored stored, co_await CopyData(svc, sm, offset, len, false, owner, src_key, dst_key));
  SLUICE_CO_ASSIGN_OR_RETURN(meta::PartInfo p,
                             co_await PublishPart(ctx, upload_id, static_cast<uint32_t>(*n), stored,
                                                  ChecksumAlgo::kNone, ""));
  XmlDoc doc("CopyPartResult");
  doc.root().Add("LastModified", FormatIso8601(p.mtime_micros)).Add("ETag", QuoteEtag(p.etag));
  http::ResponseHead head;
  if (!sm.version.empty()) head.Set("x-amz-copy-source-version-id", sm.version.ToString());
  co_return co_await SendXml(ctx, doc, std::move(head));
}

}  // namespace sluice::s3::ops
