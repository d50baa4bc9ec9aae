// AppendObject: PutObject with x-amz-write-offset-bytes, as S3 Express One Zone defines it,
// on ordinary (unversioned) buckets. docs/compatibility.md, "Appends", has the contract.
//
// An append writes O(appended bytes): the new bytes go past the end of the object's last
// data file (DataStore::Extend), are synced, and one conditional index write records the
// new size, ETag and checksum. The bytes the old record covers are never touched, so a
// reader of the old size is undisturbed, and a reader after the 2xx sees the new bytes.
// An object written by appends keeps its MD5 state in its record (ObjectMeta::append_state),
// so its ETag stays the MD5 of all its bytes without reading them again; its full-object
// CRC is combined with the CRC of the new bytes.
#include "common/checksum.h"
#include "common/md5.h"
#include "common/strings.h"
#include "s3/authz.h"
#include "s3/headers.h"
#include "s3/object_io.h"
#include "s3/ops/ops.h"
#include "s3/replica.h"
#include "s3/respond.h"
#include "s3/versions.h"

namespace sluice::s3::ops {
namespace {

// S3's largest object: an append may not take an object past it.
constexpr uint64_t kMaxObjectSize = 5ULL << 40;

// MD5 state of `m`'s bytes: kept in its record, or (once, for an object not written by
// appends) read back from the data.
Result<Md5Stream> HashSoFar(const Services& svc, const meta::ObjectMeta& m) {
  Md5Stream md5;
  if (!m.append_state.empty() && md5.RestoreState(m.append_state) && md5.length() == m.size)
    return md5;
  md5 = Md5Stream();
  if (m.segments.empty()) {
    md5.Update(m.inline_data.data(), m.inline_data.size());
    return md5;
  }
  std::string buf(1 << 20, '\0');
  for (const auto& s : m.segments) {
    auto opened = svc.data->backend().Open(s.data_id);
    if (!opened.ok()) return DataOpenFailed(opened.status(), s.data_id);
    auto reader = std::move(opened).value();
    for (uint64_t off = 0; off < s.size;) {
      size_t got = 0;
      const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), s.size - off));
      SLUICE_RETURN_IF_ERROR(reader->Read(off, buf.data(), want, &got));
      if (got == 0)
        return Error(Err::kCorruption, "data " + s.data_id + " is shorter than its record");
      md5.Update(buf.data(), got);
      off += got;
    }
  }
  return md5;
}

Status OffsetMismatch(const std::optional<meta::ObjectMeta>& cur, uint64_t offset) {
  if (!cur)
    return Error(Err::kInvalidWriteOffset,
                 "The write offset value that you specified does not match the current object "
                 "size: there is no object (size 0), and an offset of 0 creates it; you gave " +
                     std::to_string(offset));
  return Error(Err::kInvalidWriteOffset,
               "The write offset value that you specified does not match the current object "
               "size: the object holds " +
                   std::to_string(cur->size) + " bytes; you gave " + std::to_string(offset));
}

}  // namespace

Task<Status> AppendObject(Ctx& ctx) {
  const Services& svc = ctx.svc;
  // Everything that can refuse the request is checked before the body is read.
  const std::string_view raw = Trim(ctx.req.header("x-amz-write-offset-bytes"));
  const std::optional<uint64_t> offset = ParseUint(raw);
  if (!offset)
    co_return Error(
        Err::kInvalidArgument,
        "x-amz-write-offset-bytes must be a non-negative integer, not '" + std::string(raw) + "'");
  if (ctx.req.has_header(kReplicaVersionHeader))
    co_return Error(Err::kInvalidRequest, "a replicated version is not written by an append");
  SLUICE_CO_ASSIGN_OR_RETURN(meta::WriteCondition cond, ParseWriteCondition(ctx.req));
  SLUICE_CO_ASSIGN_OR_RETURN(meta::BucketInfo bucket, co_await svc.index->GetBucket(ctx.bucket));
  if (bucket.versioning != meta::Versioning::kUnversioned)
    co_return Error(Err::kNotImplemented,
                    "appends (x-amz-write-offset-bytes) are not implemented in a bucket that has "
                    "had versioning: each append would be a new version holding a whole copy. "
                    "Append in an unversioned bucket.");
  if (!svc.data->backend().SupportsExtend())
    co_return Error(Err::kNotImplemented,
                    "appends (x-amz-write-offset-bytes) are not implemented on this server's "
                    "storage backend");
  auto held = svc.append_locks->TryLock(ctx.bucket.str(), ctx.key.str());
  if (!held)
    co_return Error(Err::kConditionalRequestConflict,
                    "another append to this object is in progress; read its size and append again");

  std::optional<meta::ObjectMeta> cur;
  {
    auto found = co_await svc.index->GetObject(ctx.bucket, ctx.key);
    if (found.ok() && !found->delete_marker)
      cur = std::move(found).value();
    else if (!found.ok() && found.status().code() != Err::kNoSuchKey)
      co_return found.status();
  }
  if (cond.if_none_match_any && cur)
    co_return Error(Err::kPreconditionFailed,
                    "At least one of the pre-conditions you specified did not hold");
  if (cond.if_match && !cur) co_return Error(Err::kNoSuchKey, "");
  if (cond.if_match && cur->etag != *cond.if_match)
    co_return Error(Err::kPreconditionFailed,
                    "At least one of the pre-conditions you specified did not hold");
  if ((cur ? cur->size : 0) != *offset) co_return OffsetMismatch(cur, *offset);
  // Appends extend stored bytes in place, which encrypted frames cannot take yet: an
  // encrypted object, or a new one that would have to be, is refused (docs/encryption.md).
  if (ctx.sse_headers || (cur && !cur->encryption.empty()))
    co_return Error(Err::kNotImplemented,
                    "an append to an encrypted object (x-amz-write-offset-bytes with "
                    "server-side encryption) is not implemented yet");
  if (!cur) {
    SLUICE_CO_ASSIGN_OR_RETURN(bool encrypts, co_await BucketEncryptsByDefault(ctx));
    if (encrypts)
      co_return Error(Err::kNotImplemented,
                      "an append (x-amz-write-offset-bytes) in a bucket with default encryption "
                      "is not implemented yet");
  }

  // The object's attributes are set when an append creates it, as PutObject sets them; a
  // later append keeps them (Content-Type, which clients send by default, is ignored) and
  // refuses a request that would change them.
  meta::ObjectMeta m;
  SLUICE_CO_RETURN_IF_ERROR(
      ExtractObjectFields(ctx.req, svc.limits, &m.content_type, &m.headers, &m.tags));
  if (cur) {
    bool sets_acl = ctx.req.has_header("x-amz-acl");
    for (const char* g : {"x-amz-grant-read", "x-amz-grant-read-acp", "x-amz-grant-write-acp",
                          "x-amz-grant-full-control"})
      sets_acl = sets_acl || ctx.req.has_header(g);
    if (!m.headers.empty() || !m.tags.empty() || sets_acl ||
        ctx.req.has_header("x-amz-object-lock-mode") ||
        ctx.req.has_header("x-amz-object-lock-legal-hold"))
      co_return Error(Err::kInvalidRequest,
                      "an append keeps the object's metadata, tags and ACL: set them when an "
                      "append at offset 0 creates the object, or with CopyObject");
    m = *cur;
    m.tar_members = 0;  // appended bytes are past the archive's table: it is dropped
  } else {
    SLUICE_CO_ASSIGN_OR_RETURN(m.acl, ParseCannedAcl(ctx.req, ctx.auth.credential.owner_id));
    if (!m.acl.empty()) SLUICE_CO_RETURN_IF_ERROR(co_await CheckAclWrite(ctx, ctx.bucket, m.acl));
    SLUICE_CO_RETURN_IF_ERROR(
        ObjectLockForWrite(ctx.req, bucket, svc.clock->NowMicros(), &m.retention, &m.legal_hold));
  }
  SLUICE_CO_ASSIGN_OR_RETURN(auto payload, Payload::Open(ctx));
  const uint64_t max_append = std::min(svc.limits.max_object_size, kMaxObjectSize - *offset);
  if (payload->declared_size() && *payload->declared_size() > max_append)
    co_return Error(Err::kEntityTooLarge, "Your proposed upload exceeds the maximum allowed size");

  // The full-object CRC carries on; a checksum that cannot (SHA-1, SHA-256, a multipart
  // object's COMPOSITE) is dropped, as the appended object no longer matches it.
  ChecksumAlgo keep = ChecksumAlgo::kNone;
  std::string keep_raw;
  if (cur) {
    auto algo = ChecksumAlgoFromName(cur->checksum_algo);
    auto raw_value = Base64Decode(cur->checksum_value);
    if (algo && SupportsFullObject(*algo) && cur->checksum_type == "FULL_OBJECT" && raw_value) {
      keep = *algo;
      keep_raw = std::move(*raw_value);
    }
  }
  // What the append hashes besides the payload's own digests: the whole object's MD5 and,
  // when the request carries a checksum of another algorithm, the kept CRC.
  auto hash_so_far = [&svc, &cur] {
    return cur ? HashSoFar(svc, *cur) : Result<Md5Stream>(Md5Stream());
  };
  SLUICE_CO_ASSIGN_OR_RETURN(Md5Stream whole, co_await svc.data->Blocking(hash_so_far));
  std::optional<Checksummer> crc;
  if (keep != ChecksumAlgo::kNone && keep != payload->checksum_algo()) crc.emplace(keep);
  std::function<void(const char*, size_t)> also = [&whole, &crc](const char* p, size_t n) {
    whole.Update(p, n);
    if (crc) crc->Update(p, n);
  };

  // Into the last data file, past its end; or, when the object has none (a new object, or
  // one small enough to live in the index), into new data that starts with its bytes.
  std::unique_ptr<storage::DataWriter> writer;
  std::vector<std::string> new_ids;
  meta::WriteCondition commit = cond;
  if (cur && !cur->segments.empty()) {
    const meta::Segment& last = cur->segments.back();
    auto w = co_await svc.data->Extend(last.data_id, last.size);
    if (!w.ok() && w.status().code() == Err::kNotImplemented)
      co_return Error(Err::kNotImplemented,
                      "appends (x-amz-write-offset-bytes) are not implemented on this server's "
                      "storage backend");
    if (!w.ok()) co_return w.status();
    writer = std::move(*w);
    commit.if_extends = meta::WriteCondition::Extends{cur->size, last.data_id};
  } else {
    const std::string owner = meta::DataOwner{ctx.bucket, ctx.key, {}}.Encode();
    auto w = co_await svc.data->Create(*offset + payload->declared_size().value_or(0), owner);
    if (!w.ok()) co_return w.status();
    writer = std::move(*w);
    if (cur && !cur->inline_data.empty())
      SLUICE_CO_RETURN_IF_ERROR(
          co_await svc.data->Append(*writer, cur->inline_data.data(), cur->inline_data.size()));
    new_ids.push_back(writer->id());
    if (cur)
      commit.if_extends = meta::WriteCondition::Extends{cur->size, ""};
    else
      commit.if_none_match_any = true;
  }
  SLUICE_CO_ASSIGN_OR_RETURN(Stored stored, co_await StoreBodyInto(ctx, *payload, std::move(writer),
                                                                   max_append, std::move(also)));
  const uint64_t appended = stored.size;

  m.size = *offset + appended;
  m.mtime_micros = svc.clock->NowMicros();
  if (cur && !cur->segments.empty()) {
    m.segments.back().size += appended;
    m.segments.back().etag.clear();
  } else {
    m.inline_data.clear();
    m.segments = {{stored.writer->id(), m.size, ""}};
  }
  m.parts_count = 0;  // one object now: partNumber=1 reads all of it
  m.part_checksums.clear();
  m.etag = HexEncode(whole.Peek());
  m.append_state = whole.SaveState();
  m.version = {};
  if (!cur) {
    if (payload->checksum_algo() != ChecksumAlgo::kNone) {
      m.checksum_algo = ChecksumAlgoName(payload->checksum_algo());
      m.checksum_value = payload->checksum_b64();
      m.checksum_type = "FULL_OBJECT";
    }
  } else if (keep != ChecksumAlgo::kNone) {
    std::string added = crc ? crc->Finish() : Base64Decode(payload->checksum_b64()).value_or("");
    auto combined = CombineCrc(keep, keep_raw, added, appended);
    if (!combined) co_return Error(Err::kInternal, "combining the object's checksum failed");
    m.checksum_value = Base64Encode(*combined);
  } else {
    m.checksum_algo.clear();
    m.checksum_value.clear();
    m.checksum_type.clear();
  }

  std::vector<std::string> released;
  auto written = co_await svc.index->PutObject(ctx.bucket, ctx.key, m, commit, &released);
  Status settled = SettleWrite(svc, new_ids, written.status(), std::move(released));
  // Another write came between the read above and this commit: a creation raced another.
  if (settled.code() == Err::kPreconditionFailed && !cur && !cond.if_none_match_any)
    co_return Error(Err::kConditionalRequestConflict,
                    "another write created the object meanwhile; read its size and append again");
  SLUICE_CO_RETURN_IF_ERROR(settled);
  http::ResponseHead head;
  head.Set("ETag", QuoteEtag(m.etag));
  head.Set("x-amz-object-size", std::to_string(m.size));
  AddChecksumHeaders(head, m);
  co_return co_await SendEmpty(ctx, 200, std::move(head));
}

}  // namespace sluice::s3::ops
