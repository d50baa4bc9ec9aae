#include "s3/versions.h"

#include "common/strings.h"
#include "s3/authz.h"

namespace sluice::s3 {

Task<std::optional<BucketAccessCache::Entry::Snapshot>> SnapshotOf(const Ctx& ctx,
                                                                   const BucketName& bucket) {
  if (!ctx.svc.access || bucket.empty()) co_return std::nullopt;
  if (auto own = AccessOfOwnBucket(ctx, bucket)) co_return own->snapshot;
  auto e = co_await ctx.svc.access->Get(bucket);
  if (!e.ok() || !(*e)->snapshot) co_return std::nullopt;
  co_return (*e)->snapshot;
}

namespace {

Task<Result<meta::ObjectMeta>> LookupThroughSnapshot(const Ctx& ctx, const BucketName& bucket,
                                                     const ObjectKey& key,
                                                     const VersionId& version) {
  auto snap = co_await SnapshotOf(ctx, bucket);
  if (!snap) co_return co_await ctx.svc.index->GetObject(bucket, key, version);
  SLUICE_CO_ASSIGN_OR_RETURN(meta::ObjectMeta m,
                             co_await ctx.svc.index->GetObjectAsOf(snap->source, key, snap->at));
  if (!version.empty() &&
      !(version.is_null() ? m.version.empty() || m.version.is_null() : m.version == version))
    co_return Error(Err::kNoSuchVersion, "The snapshot shows another version of this key");
  co_return std::move(m);
}

}  // namespace

Task<Result<meta::ObjectMeta>> LookupVersion(const Ctx& ctx, const BucketName& bucket,
                                             const ObjectKey& key, const VersionId& version) {
  // The common case, the request's own plain bucket, is the index's own Task: no frame
  // here. (A frame a call is what an awaited call costs; GET makes few.)
  if (auto own = AccessOfOwnBucket(ctx, bucket); own && !own->snapshot)
    return ctx.svc.index->GetObject(bucket, key, version);
  return LookupThroughSnapshot(ctx, bucket, key, version);
}

Task<std::vector<Result<meta::ObjectMeta>>> LookupLatest(const Ctx& ctx, const BucketName& bucket,
                                                         const std::vector<ObjectKey>& keys) {
  const auto own = AccessOfOwnBucket(ctx, bucket);
  const bool plain = own && !own->snapshot;
  if (plain) co_return co_await ctx.svc.index->GetObjects(bucket, keys);
  std::vector<Result<meta::ObjectMeta>> out;
  out.reserve(keys.size());
  const VersionId latest;
  for (const auto& k : keys) {
    auto found = co_await LookupThroughSnapshot(ctx, bucket, k, latest);
    out.push_back(std::move(found));
  }
  co_return out;
}

Status ReadableVersion(Ctx& ctx, const Result<meta::ObjectMeta>& found, const VersionId& version) {
  if (!found.ok()) return found.status();
  if (!found->delete_marker) return Status::Ok();
  const meta::ObjectMeta& m = *found;
  ctx.error_headers.emplace_back("x-amz-delete-marker", "true");
  ctx.error_headers.emplace_back("x-amz-version-id", m.version.ToString());
  if (version.empty()) return Error(Err::kNoSuchKey, "The specified key does not exist.");
  ctx.error_headers.emplace_back("Allow", "DELETE");
  ctx.error_headers.emplace_back("Last-Modified", FormatHttpDate(m.mtime_micros));
  return Error(Err::kMethodNotAllowed,
               "The specified method is not allowed against this resource.");
}

Task<Result<meta::ObjectMeta>> ReadObjectVersion(Ctx& ctx, const BucketName& bucket,
                                                 const ObjectKey& key, const VersionId& version) {
  auto found = co_await LookupVersion(ctx, bucket, key, version);
  SLUICE_CO_RETURN_IF_ERROR(ReadableVersion(ctx, found, version));
  co_return std::move(found);
}

VersionId NewVersionStamp(const Services& svc, int64_t now_micros) {
  uint64_t rand = 0;
  svc.random->Fill(&rand, sizeof rand);
  return VersionId::Of(now_micros > 0 ? static_cast<uint64_t>(now_micros) : 1, rand);
}

void AddVersionHeader(http::ResponseHead& head, const VersionId& v) {
  if (!v.empty()) head.Set("x-amz-version-id", v.ToString());
}

Status ObjectLockForWrite(const http::Request& req, const meta::BucketInfo& bucket,
                          int64_t now_micros, meta::Retention* retention, bool* legal_hold) {
  const bool has_mode = req.has_header("x-amz-object-lock-mode");
  const bool has_date = req.has_header("x-amz-object-lock-retain-until-date");
  const bool has_hold = req.has_header("x-amz-object-lock-legal-hold");
  *retention = {};
  *legal_hold = false;
  if ((has_mode || has_date || has_hold) && !bucket.lock.enabled)
    return Error(Err::kInvalidRequest, "Bucket is missing ObjectLockConfiguration");
  if (has_mode != has_date)
    return Error(Err::kInvalidArgument,
                 "x-amz-object-lock-retain-until-date and "
                 "x-amz-object-lock-mode must both be supplied");
  if (has_mode) {
    std::string mode(Trim(req.header("x-amz-object-lock-mode")));
    if (mode != "GOVERNANCE" && mode != "COMPLIANCE")
      return Error(Err::kInvalidArgument, "Unknown wormMode directive: " + mode);
    auto until = ParseIso8601(Trim(req.header("x-amz-object-lock-retain-until-date")));
    if (!until)
      return Error(Err::kInvalidArgument, "The retain until date is not an ISO 8601 date");
    if (*until <= now_micros)
      return Error(Err::kInvalidArgument, "The retain until date must be in the future!");
    *retention = {mode, *until};
  } else if (bucket.lock.enabled && !bucket.lock.default_mode.empty()) {
    constexpr int64_t kDay = 86400LL * 1000000;
    int64_t span = bucket.lock.default_days ? bucket.lock.default_days * kDay
                                            : int64_t{bucket.lock.default_years} * 365 * kDay;
    *retention = {bucket.lock.default_mode, now_micros + span};
  }
  if (has_hold) {
    std::string_view hold = Trim(req.header("x-amz-object-lock-legal-hold"));
    if (hold != "ON" && hold != "OFF")
      return Error(Err::kInvalidArgument, "Legal Hold must be either of 'ON' or 'OFF'");
    *legal_hold = hold == "ON";
  }
  return Status::Ok();
}

void AddObjectLockHeaders(http::ResponseHead& head, const meta::ObjectMeta& m) {
  if (!m.retention.mode.empty()) {
    head.Set("x-amz-object-lock-mode", m.retention.mode);
    head.Set("x-amz-object-lock-retain-until-date", FormatIso8601(m.retention.until_micros));
  }
  if (m.legal_hold) head.Set("x-amz-object-lock-legal-hold", "ON");
}

Task<bool> BypassGovernance(Ctx& ctx) {
  if (!EqualsIgnoreCase(Trim(ctx.req.header("x-amz-bypass-governance-retention")), "true"))
    co_return false;
  co_return co_await IsAllowed(ctx, "s3:BypassGovernanceRetention", ctx.bucket, ctx.key);
}

}  // namespace sluice::s3
