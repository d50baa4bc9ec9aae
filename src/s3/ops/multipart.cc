// CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload, ListParts.
#include <algorithm>
#include <map>

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

Result<uint32_t> PartNumber(const Query& q) {
  auto n = ParseUint(q.Get("partNumber"));
  if (!n || *n < 1 || *n > 10000)
    return Error(Err::kInvalidArgument,
                 "Part number must be an integer between 1 and 10000, inclusive");
  return static_cast<uint32_t>(*n);
}

// The whole object's checksum when the upload named an algorithm and every part carried a
// checksum of it: COMPOSITE, the checksum of the parts' raw checksums with "-N"; or
// FULL_OBJECT, the parts' CRCs combined into the CRC of the whole. A checksum the client
// sends with CompleteMultipartUpload must equal it.
Status ObjectChecksum(const Ctx& ctx, const meta::UploadInfo& u,
                      const std::vector<std::pair<uint32_t, std::string>>& requested,
                      std::map<uint32_t, meta::PartInfo>& by_number, meta::ObjectMeta* m) {
  std::string_view type = Trim(ctx.req.header("x-amz-checksum-type"));
  if (u.checksum_algo.empty()) {
    if (!type.empty())
      return Error(Err::kInvalidRequest, "The upload was created without a checksum algorithm.");
    return Status::Ok();
  }
  if (!type.empty() && type != u.checksum_type)
    return Error(Err::kInvalidRequest,
                 "The upload was created using the " + u.checksum_type +
                     " checksum mode. The complete request must use the same checksum mode.");
  ChecksumAlgo algo = *ChecksumAlgoFromName(u.checksum_algo);
  Checksummer composite(algo);
  std::string full;
  for (const auto& [n, etag] : requested) {
    const meta::PartInfo& part = by_number[n];
    auto raw = Base64Decode(part.checksum_value);
    if (part.checksum_algo != u.checksum_algo || !raw || raw->size() != ChecksumSize(algo))
      return Status::Ok();  // a part without a checksum: the object gets none
    m->part_checksums.push_back(part.checksum_value);
    if (u.checksum_type == "FULL_OBJECT") {
      if (full.empty()) {
        full = *raw;
      } else {
        auto c = CombineCrc(algo, full, *raw, part.size);
        if (!c) return Error(Err::kInternal, "checksum combination failed");
        full = std::move(*c);
      }
    } else {
      composite.Update(raw->data(), raw->size());
    }
  }
  m->checksum_algo = u.checksum_algo;
  m->checksum_type = u.checksum_type;
  m->checksum_value = u.checksum_type == "FULL_OBJECT"
                          ? Base64Encode(full)
                          : Base64Encode(composite.Finish()) + "-" + std::to_string(m->parts_count);
  std::string_view sent = Trim(ctx.req.header(ChecksumHeaderName(algo)));
  if (!sent.empty() && sent != m->checksum_value)
    return Error(Err::kBadDigest,
                 "The " + u.checksum_algo +
                     " you specified for the object did not match what was computed (" +
                     m->checksum_value + ").");
  return Status::Ok();
}

}  // namespace

Task<Status> CreateMultipartUpload(Ctx& ctx) {
  const Services& svc = ctx.svc;
  meta::UploadInfo u;
  SLUICE_CO_ASSIGN_OR_RETURN(meta::BucketInfo bucket, co_await svc.index->GetBucket(ctx.bucket));
  SLUICE_CO_RETURN_IF_ERROR(
      ObjectLockForWrite(ctx.req, bucket, svc.clock->NowMicros(), &u.retention, &u.legal_hold));
  SLUICE_CO_ASSIGN_OR_RETURN(u.acl, ParseCannedAcl(ctx.req, ctx.auth.credential.owner_id));
  if (!u.acl.empty()) SLUICE_CO_RETURN_IF_ERROR(co_await CheckAclWrite(ctx, ctx.bucket, u.acl));
  SLUICE_CO_RETURN_IF_ERROR(
      ExtractObjectFields(ctx.req, svc.limits, &u.content_type, &u.headers, &u.tags));
  if (ctx.req.has_header("x-amz-checksum-algorithm")) {
    auto a = ChecksumAlgoFromName(Trim(ctx.req.header("x-amz-checksum-algorithm")));
    if (!a) co_return Error(Err::kInvalidRequest, "Checksum algorithm provided is unsupported.");
    u.checksum_algo = ChecksumAlgoName(*a);
  }
  // COMPOSITE: the object's checksum is the checksum of the parts' checksums ("...-N").
  // FULL_OBJECT: the checksum of the whole object, combined from the parts' CRCs.
  std::string_view ctype = Trim(ctx.req.header("x-amz-checksum-type"));
  if (!ctype.empty() && u.checksum_algo.empty())
    co_return Error(Err::kInvalidRequest,
                    "The x-amz-checksum-type header can only be used with the "
                    "x-amz-checksum-algorithm header.");
  if (!u.checksum_algo.empty()) {
    ChecksumAlgo algo = *ChecksumAlgoFromName(u.checksum_algo);
    if (ctype.empty()) ctype = algo == ChecksumAlgo::kCrc64Nvme ? "FULL_OBJECT" : "COMPOSITE";
    if (ctype != "COMPOSITE" && ctype != "FULL_OBJECT")
      co_return Error(Err::kInvalidRequest, "Value for x-amz-checksum-type header is invalid.");
    if (ctype == "FULL_OBJECT" && !SupportsFullObject(algo))
      co_return Error(Err::kInvalidRequest,
                      "The FULL_OBJECT checksum type cannot be used with the " + u.checksum_algo +
                          " checksum algorithm.");
    if (ctype == "COMPOSITE" && algo == ChecksumAlgo::kCrc64Nvme)
      co_return Error(
          Err::kInvalidRequest,
          "The COMPOSITE checksum type cannot be used with the CRC64NVME checksum algorithm.");
    u.checksum_type = std::string(ctype);
  }
  // Encryption at rest, for every part and the object (s3/sse.h).
  SLUICE_CO_ASSIGN_OR_RETURN(SseRequest sse, co_await WriteEncryption(ctx));
  std::optional<SseRecord> enc;
  if (sse.mode != SseMode::kNone) {
    SLUICE_CO_ASSIGN_OR_RETURN(auto made, NewObjectKey(sse, svc.sse_keys, svc.random));
    u.encryption = made.first.Encode();
    enc.emplace(std::move(made.first));
  }
  u.upload_id = UploadId::Trusted(svc.random->HexString(16));
  u.key = ctx.key;
  u.initiated_micros = svc.clock->NowMicros();
  SLUICE_CO_RETURN_IF_ERROR(co_await svc.index->CreateUpload(ctx.bucket, u));
  XmlDoc doc("InitiateMultipartUploadResult");
  doc.root().Add("Bucket", ctx.bucket).Add("Key", ctx.key).Add("UploadId", u.upload_id);
  http::ResponseHead head;
  head.Set("Content-Type", "application/xml");
  if (!u.checksum_algo.empty()) {
    head.Set("x-amz-checksum-algorithm", u.checksum_algo);
    head.Set("x-amz-checksum-type", u.checksum_type);
  }
  if (enc)
    for (auto& [name, value] : SseResponseHeaders(*enc, sse)) head.Set(name, value);
  co_return co_await ctx.resp.Send(head, doc.Render());
}

Task<Status> UploadPart(Ctx& ctx) {
  const Services& svc = ctx.svc;
  SLUICE_CO_ASSIGN_OR_RETURN(uint32_t number, PartNumber(ctx.query));
  SLUICE_CO_ASSIGN_OR_RETURN(UploadId upload_id, ParseUploadId(ctx.query.Get("uploadId")));
  SLUICE_CO_ASSIGN_OR_RETURN(meta::UploadInfo upload,
                             co_await svc.index->GetUpload(ctx.bucket, ctx.key, upload_id));
  // The parts of an encrypted upload are encrypted under its key; SSE-C parts need the
  // customer's key again, the one CreateMultipartUpload was given.
  std::string object_key;
  std::vector<std::pair<std::string, std::string>> sse_headers;
  if (!upload.encryption.empty() || ctx.sse_headers) {
    SLUICE_CO_ASSIGN_OR_RETURN(SseRequest asked, ParseReadSse(ctx.req));
    SLUICE_CO_ASSIGN_OR_RETURN(SseRecord rec, SseRecord::Decode(upload.encryption));
    SLUICE_CO_ASSIGN_OR_RETURN(object_key, ObjectKeyFor(rec, asked, svc.sse_keys));
    sse_headers = SseResponseHeaders(rec, asked);
  }
  SLUICE_CO_ASSIGN_OR_RETURN(auto payload, Payload::Open(ctx));
  if (!upload.checksum_algo.empty() && payload->checksum_algo() != ChecksumAlgo::kNone &&
      ChecksumAlgoName(payload->checksum_algo()) != upload.checksum_algo)
    co_return Error(Err::kInvalidRequest,
                    "Checksum Type mismatch occurred, expected checksum Type: " +
                        ToLower(upload.checksum_algo));
  const std::string* encrypt_key = nullptr;  // (no ?: inside a co_await: GCC 12)
  if (!object_key.empty()) encrypt_key = &object_key;
  SLUICE_CO_ASSIGN_OR_RETURN(
      Stored stored, co_await StoreBody(ctx, *payload, false, svc.limits.max_object_size, upload_id,
                                        nullptr, encrypt_key));
  SLUICE_CO_ASSIGN_OR_RETURN(
      meta::PartInfo p, co_await PublishPart(ctx, upload_id, number, stored,
                                             payload->checksum_algo(), payload->checksum_b64()));
  http::ResponseHead head;
  head.Set("ETag", QuoteEtag(p.etag));
  for (auto& [name, value] : sse_headers) head.Set(name, value);
  if (!p.checksum_algo.empty())
    head.Set(ChecksumHeaderName(*ChecksumAlgoFromName(p.checksum_algo)), p.checksum_value);
  co_return co_await SendEmpty(ctx, 200, std::move(head));
}

namespace {

XmlDoc CompleteResult(Ctx& ctx, const std::string& etag, const std::string& checksum_algo,
                      const std::string& checksum_value, const std::string& checksum_type) {
  XmlDoc out("CompleteMultipartUploadResult");
  std::string host(ctx.req.header("host"));
  out.root()
      .Add("Location", "http://" + host + "/" + ctx.bucket.str() + "/" + UriEncode(ctx.key, false))
      .Add("Bucket", ctx.bucket)
      .Add("Key", ctx.key)
      .Add("ETag", QuoteEtag(etag));
  if (!checksum_algo.empty())
    out.root().Add("Checksum" + checksum_algo, checksum_value).Add("ChecksumType", checksum_type);
  return out;
}

// A Complete of an upload that is no longer in progress: if it was completed (for this
// bucket and key) within the retention, S3 answers 200 with the same ETag and checksum, and
// SDKs retrying a Complete whose reply was lost rely on that. Otherwise `gone` stands.
Task<Status> RepeatedComplete(Ctx& ctx, const UploadId& upload_id, Status gone) {
  if (gone.code() != Err::kNoSuchUpload) co_return gone;
  auto done = co_await ctx.svc.index->GetCompletedUpload(ctx.bucket, upload_id);
  if (!done.ok()) co_return done.status().code() == Err::kNoSuchUpload ? gone : done.status();
  if (done->key != ctx.key.str() ||
      ctx.svc.clock->NowMicros() - done->completed_micros > meta::kCompletedUploadRetentionMicros)
    co_return gone;
  http::ResponseHead head;
  AddVersionHeader(head, done->version);
  co_return co_await SendXml(ctx,
                             CompleteResult(ctx, done->etag, done->checksum_algo,
                                            done->checksum_value, done->checksum_type),
                             std::move(head));
}

}  // namespace

Task<Status> CompleteMultipartUpload(Ctx& ctx) {
  const Services& svc = ctx.svc;
  SLUICE_CO_ASSIGN_OR_RETURN(UploadId upload_id, ParseUploadId(ctx.query.Get("uploadId")));
  SLUICE_CO_ASSIGN_OR_RETURN(meta::WriteCondition cond, ParseWriteCondition(ctx.req));
  auto upload = co_await svc.index->GetUpload(ctx.bucket, ctx.key, upload_id);
  if (!upload.ok()) co_return co_await RepeatedComplete(ctx, upload_id, upload.status());
  meta::UploadInfo u = std::move(upload).value();
  // SSE-C headers on a Complete (SDKs send them) must name the upload's key.
  std::vector<std::pair<std::string, std::string>> sse_headers;
  if (ctx.sse_headers) {
    SLUICE_CO_ASSIGN_OR_RETURN(SseRequest asked, ParseReadSse(ctx.req));
    SLUICE_CO_ASSIGN_OR_RETURN(SseRecord rec, SseRecord::Decode(u.encryption));
    SLUICE_CO_RETURN_IF_ERROR(ObjectKeyFor(rec, asked, svc.sse_keys).status());
    sse_headers = SseResponseHeaders(rec, asked);
  }
  SLUICE_CO_ASSIGN_OR_RETURN(auto replica, co_await ReadReplicaHeaders(ctx, "s3:ReplicateObject"));
  SLUICE_CO_ASSIGN_OR_RETURN(auto payload, Payload::Open(ctx, /*headers_describe_body=*/false));
  SLUICE_CO_ASSIGN_OR_RETURN(std::string body,
                             co_await payload->ReadAll(kMaxCompleteXmlBody, Err::kMalformedXML));
  pugi::xml_document doc;
  SLUICE_CO_RETURN_IF_ERROR(ParseXml(body, "CompleteMultipartUpload", &doc, kMaxCompleteXmlBody));

  SLUICE_CO_ASSIGN_OR_RETURN(auto stored_parts,
                             co_await svc.index->ListParts(ctx.bucket, ctx.key, upload_id, 0, 0));
  std::map<uint32_t, meta::PartInfo> by_number;
  for (auto& p : stored_parts) by_number[p.number] = std::move(p);

  meta::ObjectMeta m;
  m.content_type = u.content_type;
  m.headers = u.headers;
  m.tags = u.tags;
  m.acl = u.acl;
  m.retention = u.retention;
  m.legal_hold = u.legal_hold;
  m.encryption = u.encryption;
  std::string md5s;
  int64_t last = 0;
  std::vector<std::pair<uint32_t, std::string>> requested;
  for (auto part : doc.document_element().children("Part")) {
    auto n = ParseUint(Trim(part.child("PartNumber").text().as_string()));
    if (!n || *n < 1 || *n > 10000) co_return Error(Err::kMalformedXML, "bad PartNumber");
    requested.emplace_back(static_cast<uint32_t>(*n),
                           std::string(UnquoteEtag(part.child("ETag").text().as_string())));
  }
  if (requested.empty()) co_return Error(Err::kMalformedXML, "You must specify at least one part");
  for (size_t i = 0; i < requested.size(); i++) {
    const auto& [n, etag] = requested[i];
    if (static_cast<int64_t>(n) <= last) co_return Error(Err::kInvalidPartOrder, "");
    last = n;
    auto it = by_number.find(n);
    if (it == by_number.end() || it->second.etag != etag)
      co_return Error(Err::kInvalidPart,
                      "part " + std::to_string(n) + " was not uploaded or its ETag does not match");
    const meta::PartInfo& p = it->second;
    if (i + 1 < requested.size() && p.size < svc.limits.min_part_size)
      co_return Error(Err::kEntityTooSmall, "part " + std::to_string(n) +
                                                " is smaller than the minimum part size (5 MiB)");
    m.segments.push_back({p.data_id, p.size, p.etag});
    m.size += p.size;
    md5s += *HexDecode(p.etag);
  }
  m.parts_count = static_cast<uint32_t>(m.segments.size());
  SLUICE_CO_RETURN_IF_ERROR(ObjectChecksum(ctx, u, requested, by_number, &m));
  m.etag = HexEncode(Md5(md5s)) + "-" + std::to_string(m.parts_count);
  m.mtime_micros = svc.clock->NowMicros();
  m.version = NewVersionStamp(svc, m.mtime_micros);
  if (replica) {
    m.version = replica->version;
    m.mtime_micros = replica->mtime_micros;
    m.replication_status = meta::kReplicationReplica;
  } else {
    MarkForReplication(ctx.access ? ctx.access->replication.get() : nullptr, ctx.key.str(), &m);
  }
  if (m.size > (5ULL << 40)) co_return Error(Err::kEntityTooLarge, "objects are at most 5 TiB");
  // A tar archive's member table, from the headers of the assembled bytes (never of an
  // encrypted object's: its stored bytes are ciphertext, docs/encryption.md).
  if (m.encryption.empty()) SLUICE_CO_RETURN_IF_ERROR(co_await ScanMembers(svc, &m));
  std::vector<std::string> released;
  auto written =
      co_await svc.index->CompleteUpload(ctx.bucket, ctx.key, upload_id, m, cond, &released);
  // Sent again, and committed meanwhile.
  if (replica && written.status().code() == Err::kAlreadyExists) {
    SLUICE_CO_ASSIGN_OR_RETURN(auto held,
                               co_await ReplicaAlreadyHeld(ctx, *replica, false, m.etag));
    if (!held) co_return written.status();
    std::vector<std::string> parts;
    Status aborted = co_await svc.index->AbortUpload(ctx.bucket, ctx.key, upload_id, &parts);
    SLUICE_CO_RETURN_IF_ERROR(SettleWrite(svc, kNoNewData, std::move(aborted), std::move(parts)));
    http::ResponseHead head;
    AddVersionHeader(head, held->version);
    co_return co_await SendXml(ctx,
                               CompleteResult(ctx, held->etag, held->checksum_algo,
                                              held->checksum_value, held->checksum_type),
                               std::move(head));
  }
  Status published = SettleWrite(svc, kNoNewData, written.status(), std::move(released));
  // Two Completes of one upload racing: the loser answers as a repeated Complete.
  if (!published.ok()) co_return co_await RepeatedComplete(ctx, upload_id, published);
  http::ResponseHead head;
  AddVersionHeader(head, written->version);
  if (auto rec = SseRecord::Decode(m.encryption); rec.ok() && rec->mode == SseMode::kS3)
    head.Set("x-amz-server-side-encryption", "AES256");
  for (auto& [name, value] : sse_headers) head.Set(name, value);
  co_return co_await SendXml(
      ctx, CompleteResult(ctx, m.etag, m.checksum_algo, m.checksum_value, m.checksum_type),
      std::move(head));
}

Task<Status> AbortMultipartUpload(Ctx& ctx) {
  const Services& svc = ctx.svc;
  SLUICE_CO_ASSIGN_OR_RETURN(UploadId upload_id, ParseUploadId(ctx.query.Get("uploadId")));
  std::vector<std::string> released;
  Status aborted = co_await svc.index->AbortUpload(ctx.bucket, ctx.key, upload_id, &released);
  SLUICE_CO_RETURN_IF_ERROR(SettleWrite(svc, kNoNewData, std::move(aborted), std::move(released)));
  co_return co_await SendEmpty(ctx, 204);
}

Task<Status> ListParts(Ctx& ctx) {
  const Services& svc = ctx.svc;
  SLUICE_CO_ASSIGN_OR_RETURN(UploadId upload_id, ParseUploadId(ctx.query.Get("uploadId")));
  uint32_t marker = 0, max = 1000;
  if (ctx.query.Has("part-number-marker")) {
    auto v = ParseUint(ctx.query.Get("part-number-marker"));
    if (!v || *v > 10000) co_return Error(Err::kInvalidArgument, "bad part-number-marker");
    marker = static_cast<uint32_t>(*v);
  }
  if (ctx.query.Has("max-parts")) {
    auto v = ParseUint(ctx.query.Get("max-parts"));
    if (!v) co_return Error(Err::kInvalidArgument, "bad max-parts");
    max = static_cast<uint32_t>(std::clamp<uint64_t>(*v, 1, 1000));
  }
  SLUICE_CO_ASSIGN_OR_RETURN(
      auto parts, co_await svc.index->ListParts(ctx.bucket, ctx.key, upload_id, marker, max));
  bool truncated = parts.size() > max;
  if (truncated) parts.resize(max);
  XmlDoc doc("ListPartsResult");
  XmlNode r = doc.root();
  r.Add("Bucket", ctx.bucket).Add("Key", ctx.key).Add("UploadId", upload_id);
  AddOwner(r, ctx, "Initiator");
  AddOwner(r, ctx);
  r.Add("StorageClass", "STANDARD").Add("PartNumberMarker", marker);
  if (truncated) r.Add("NextPartNumberMarker", parts.back().number);
  r.Add("MaxParts", max).AddBool("IsTruncated", truncated);
  for (const auto& p : parts) {
    XmlNode part = r.Child("Part");
    part.Add("PartNumber", p.number)
        .Add("LastModified", FormatIso8601(p.mtime_micros))
        .Add("ETag", QuoteEtag(p.etag))
        .Add("Size", p.size);
    if (!p.checksum_algo.empty()) part.Add("Checksum" + p.checksum_algo, p.checksum_value);
  }
  co_return co_await SendXml(ctx, doc);
}

}  // namespace sluice::s3::ops
