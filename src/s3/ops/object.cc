// PutObject, GetObject, HeadObject, DeleteObject.
#include "common/checksum.h"
#include "common/hash.h"
#include "common/strings.h"
#include "s3/authz.h"
#include "s3/headers.h"
#include "s3/object_io.h"
#include "s3/ops/ops.h"
#include "s3/replica.h"
#include "s3/replication.h"
#include "s3/respond.h"
#include "s3/sse.h"
#include "s3/tar_members.h"
#include "s3/versions.h"

namespace sluice::s3::ops {
namespace {

// x-amz-expiration: when the bucket's lifecycle rules will expire this current version.
// From the bucket's access entry, read once by the handler (none when it could not be).
void AddExpiration(Ctx& ctx, http::ResponseHead& head, const meta::ObjectMeta& m) {
  auto entry = AccessOfOwnBucket(ctx, ctx.bucket);
  if (!entry || !entry->lifecycle) return;
  if (auto e = ExpiryOf(*entry->lifecycle, ctx.key.str(), m))
    head.Set("x-amz-expiration", ExpirationHeader(*e));
}

}  // namespace

Task<Status> PutObject(Ctx& ctx) {
  if (ctx.req.has_header("x-amz-write-offset-bytes")) co_return co_await AppendObject(ctx);
  const Services& svc = ctx.svc;
  // Everything that can refuse the request is checked before the body is read, so an
  // Expect: 100-continue client is refused without sending its body.
  meta::ObjectMeta m;
  SLUICE_CO_RETURN_IF_ERROR(
      ExtractObjectFields(ctx.req, svc.limits, &m.content_type, &m.headers, &m.tags));
  SLUICE_CO_ASSIGN_OR_RETURN(meta::WriteCondition cond, ParseWriteCondition(ctx.req));
  SLUICE_CO_ASSIGN_OR_RETURN(m.acl, ParseCannedAcl(ctx.req, ctx.auth.credential.owner_id));
  if (!m.acl.empty()) SLUICE_CO_RETURN_IF_ERROR(co_await CheckAclWrite(ctx, ctx.bucket, m.acl));
  SLUICE_CO_ASSIGN_OR_RETURN(meta::BucketInfo bucket, co_await svc.index->GetBucket(ctx.bucket));
  SLUICE_CO_RETURN_IF_ERROR(
      ObjectLockForWrite(ctx.req, bucket, svc.clock->NowMicros(), &m.retention, &m.legal_hold));
  SLUICE_CO_ASSIGN_OR_RETURN(auto replica, co_await ReadReplicaHeaders(ctx, "s3:ReplicateObject"));
  // Encryption at rest: what the headers ask for, else the bucket's default (s3/sse.h).
  SseRequest sse;
  if (const BucketAccessEntry* e = AccessOfOwnBucket(ctx, ctx.bucket); e && !ctx.sse_headers) {
    if (e->default_sse) sse.mode = SseMode::kS3;  // no coroutine frame on the common path
  } else {
    SLUICE_CO_ASSIGN_OR_RETURN(sse, co_await WriteEncryption(ctx));
  }
  std::optional<std::pair<SseRecord, std::string>> enc;  // the record and the object key
  if (sse.mode != SseMode::kNone) {
    SLUICE_CO_ASSIGN_OR_RETURN(auto made, NewObjectKey(sse, svc.sse_keys, svc.random));
    enc.emplace(std::move(made));
  }
  SLUICE_CO_ASSIGN_OR_RETURN(auto payload, Payload::Open(ctx));

  TarIndexer tar;  // a tar archive's member table, found as the bytes go by (not encrypted)
  const UploadId no_upload;
  TarIndexer* indexer = &tar;  // (no ?: inside a co_await expression: GCC 12 miscompiles it)
  const std::string* encrypt_key = nullptr;
  if (enc) {
    indexer = nullptr;
    encrypt_key = &enc->second;
  }
  SLUICE_CO_ASSIGN_OR_RETURN(
      Stored stored, co_await StoreBody(ctx, *payload, true, svc.limits.max_object_size, no_upload,
                                        indexer, encrypt_key));
  std::vector<std::string> new_ids;
  const int64_t now = svc.clock->NowMicros();
  AttachStored(stored, now, &m, &new_ids);
  if (enc) {
    m.encryption = enc->first.Encode();
    // S3's ETag of an SSE-C object is not the MD5 of its bytes, which would tell anyone
    // who can list the bucket whether it holds a known plaintext: a keyed digest instead.
    if (sse.mode == SseMode::kCustomer)
      m.etag = HexEncode(HmacSha256(enc->second, stored.md5).substr(0, 16));
  } else {
    AttachMembers(tar, &m);
  }
  m.version = NewVersionStamp(svc, now);
  if (replica) {
    m.version = replica->version;
    m.mtime_micros = replica->mtime_micros;
    m.replication_status = meta::kReplicationReplica;
  } else {
    MarkForReplication(ctx.access ? ctx.access->replication.get() : nullptr, ctx.key.str(), &m);
  }
  if (payload->checksum_algo() != ChecksumAlgo::kNone) {
    m.checksum_algo = ChecksumAlgoName(payload->checksum_algo());
    m.checksum_value = payload->checksum_b64();
    m.checksum_type = "FULL_OBJECT";
  }
  std::vector<std::string> released;
  auto written = co_await svc.index->PutObject(ctx.bucket, ctx.key, m, cond, &released);
  Status settled = SettleWrite(svc, new_ids, written.status(), std::move(released));
  if (replica && settled.code() == Err::kAlreadyExists) {  // sent again: stored once (s3/replica.h)
    SLUICE_CO_ASSIGN_OR_RETURN(auto held,
                               co_await ReplicaAlreadyHeld(ctx, *replica, false, m.etag));
    if (!held) co_return settled;
    http::ResponseHead head;
    head.Set("ETag", QuoteEtag(held->etag));
    AddVersionHeader(head, held->version);
    co_return co_await SendEmpty(ctx, 200, std::move(head));
  }
  SLUICE_CO_RETURN_IF_ERROR(settled);
  http::ResponseHead head;
  head.Set("ETag", QuoteEtag(m.etag));
  AddVersionHeader(head, written->version);
  AddExpiration(ctx, head, m);
  AddChecksumHeaders(head, m);
  if (enc)
    for (auto& [name, value] : SseResponseHeaders(enc->first, sse)) head.Set(name, value);
  co_return co_await SendEmpty(ctx, 200, std::move(head));
}

Task<Status> GetObject(Ctx& ctx, bool head_only) {
  SLUICE_CO_RETURN_IF_ERROR(
      CheckResponseOverrides(ctx.query, ctx.auth.credential.access_key.empty()));
  // ReadObjectVersion in two halves, so the record stays where the index call put it.
  const Result<meta::ObjectMeta> found =
      co_await LookupVersion(ctx, ctx.bucket, ctx.key, ctx.version);
  SLUICE_CO_RETURN_IF_ERROR(ReadableVersion(ctx, found, ctx.version));
  const meta::ObjectMeta& m = *found;
  // An encrypted object's key (s3/sse.h): SSE-C needs the client's key, which must be the
  // one it was written with.
  std::string object_key;
  std::vector<std::pair<std::string, std::string>> sse_headers;
  if (!m.encryption.empty() || ctx.sse_headers) {
    SLUICE_CO_ASSIGN_OR_RETURN(SseRequest asked, ParseReadSse(ctx.req));
    SLUICE_CO_ASSIGN_OR_RETURN(SseRecord rec, SseRecord::Decode(m.encryption));
    SLUICE_CO_ASSIGN_OR_RETURN(object_key, ObjectKeyFor(rec, asked, ctx.svc.sse_keys));
    sse_headers = SseResponseHeaders(rec, asked);
  }
  Status pre = CheckReadPreconditions(ctx.req, m);
  if (pre.code() == Err::kNotModified) {
    http::ResponseHead head;
    head.Set("ETag", QuoteEtag(m.etag));
    AddVersionHeader(head, m.version);
    head.Set("Last-Modified", FormatHttpDate(m.mtime_micros));
    co_return co_await SendEmpty(ctx, 304, std::move(head));
  }
  SLUICE_CO_RETURN_IF_ERROR(pre);

  http::ResponseHead head;
  AddObjectHeaders(head, m, ctx.query);
  // An unversioned object read as ?versionId=null is the null version, and says so.
  AddVersionHeader(head,
                   m.version.empty() && ctx.version.is_null() ? VersionId::Null() : m.version);
  AddObjectLockHeaders(head, m);
  for (auto& [name, value] : sse_headers) head.Set(name, value);
  if (ctx.version.empty()) AddExpiration(ctx, head, m);
  uint64_t offset = 0, length = m.size;
  bool partial = false;
  std::optional<size_t> part;  // partNumber=N of a multipart object: N-1
  SLUICE_CO_ASSIGN_OR_RETURN(std::optional<uint32_t> pn, ParsePartNumber(ctx.req, ctx.query));
  if (pn) {
    uint32_t parts = m.parts_count ? m.parts_count : 1;
    if (*pn > parts) co_return Error(Err::kInvalidPartNumber, "");
    if (m.parts_count) {
      for (uint64_t i = 0; i + 1 < *pn; i++) offset += m.segments[i].size;
      length = m.segments[*pn - 1].size;
      partial = true;
      part = *pn - 1;
    }
    head.Set("x-amz-mp-parts-count", std::to_string(parts));
  } else {
    SLUICE_CO_RETURN_IF_ERROR(ApplyRange(ctx.req, m.size, head, &offset, &length));
    partial = head.status == 206;
  }
  // The stored checksum covers the whole object; S3 returns it for whole reads, and for a
  // part read (partNumber=N) the part's own checksum with the object's checksum type.
  if (EqualsIgnoreCase(Trim(ctx.req.header("x-amz-checksum-mode")), "ENABLED")) {
    if (part)
      AddPartChecksumHeaders(head, m, *part);
    else if (!partial)
      AddChecksumHeaders(head, m);
  }
  if (partial && part) {  // a part of a multipart object (a Range set its own already)
    head.status = 206;
    head.Set("Content-Range", "bytes " + std::to_string(offset) + "-" +
                                  std::to_string(offset + length - 1) + "/" +
                                  std::to_string(m.size));
  }
  if (head_only || length == 0 || !m.inline_data.empty()) {
    std::string_view body =
        head_only ? std::string_view() : std::string_view(m.inline_data).substr(offset, length);
    co_return co_await ctx.resp.Send(head, body, length);
  }
  SLUICE_CO_ASSIGN_OR_RETURN(auto first,
                             co_await OpenFirstSegment(ctx, m, offset, length, object_key));
  SLUICE_CO_RETURN_IF_ERROR(co_await ctx.resp.Begin(head, length));
  co_return co_await SendObjectRange(ctx, m, offset, length, std::move(first), object_key);
}

Task<Status> DeleteObject(Ctx& ctx) {
  const Services& svc = ctx.svc;
  const int64_t now = svc.clock->NowMicros();
  meta::DeleteRequest request{ctx.version, NewVersionStamp(svc, now), now,
                              co_await BypassGovernance(ctx)};
  request.replicate_marker =
      ReplicatesMarker(ctx.access ? ctx.access->replication.get() : nullptr, ctx.key.str());
  if (ctx.version.empty()) {
    SLUICE_CO_ASSIGN_OR_RETURN(auto replica,
                               co_await ReadReplicaHeaders(ctx, "s3:ReplicateDelete"));
    if (replica) {  // a delete marker replicated from another server: its id and time kept
      request.marker = replica->version;
      request.now_micros = replica->mtime_micros;
      request.replicate_marker = false;
      request.replica = true;
    }
  } else if (ctx.req.has_header(kReplicaVersionHeader)) {
    co_return Error(Err::kInvalidRequest,
                    "a replicated delete marker is written without a versionId");
  }
  std::vector<std::string> released;
  auto done = co_await svc.index->DeleteObject(ctx.bucket, ctx.key, request, &released);
  if (request.replica && done.status().code() == Err::kAlreadyExists) {  // sent again
    const ReplicaWrite sent{request.marker, request.now_micros};
    SLUICE_CO_ASSIGN_OR_RETURN(auto held, co_await ReplicaAlreadyHeld(ctx, sent, true, ""));
    if (!held) co_return done.status();
    http::ResponseHead head;
    head.Set("x-amz-delete-marker", "true");
    AddVersionHeader(head, held->version);
    co_return co_await SendEmpty(ctx, 204, std::move(head));
  }
  SLUICE_CO_RETURN_IF_ERROR(SettleWrite(svc, kNoNewData, done.status(), std::move(released)));
  http::ResponseHead head;
  if (done->delete_marker) head.Set("x-amz-delete-marker", "true");
  AddVersionHeader(head, done->version);
  co_return co_await SendEmpty(ctx, 204, std::move(head));
}

}  // namespace sluice::s3::ops
