#include "s3/replica.h"

#include "common/strings.h"
#include "s3/authz.h"

namespace sluice::s3 {

Task<Result<std::optional<ReplicaWrite>>> ReadReplicaHeaders(Ctx& ctx, std::string_view action) {
  const bool has_version = ctx.req.has_header(kReplicaVersionHeader);
  const bool has_mtime = ctx.req.has_header(kReplicaMtimeHeader);
  if (!has_version && !has_mtime) co_return std::optional<ReplicaWrite>();
  if (!has_version || !has_mtime)
    co_return Error(Err::kInvalidArgument, std::string(kReplicaVersionHeader) + " and " +
                                               std::string(kReplicaMtimeHeader) + " go together");
  ReplicaWrite w;
  auto v = VersionId::Parse(Trim(ctx.req.header(kReplicaVersionHeader)));
  if (!v.ok() || v->is_null())
    co_return Error(Err::kInvalidArgument, "Invalid " + std::string(kReplicaVersionHeader) +
                                               ": a replica keeps a "
                                               "version id of a versioned bucket");
  w.version = *v;
  auto t = ParseUint(Trim(ctx.req.header(kReplicaMtimeHeader)));
  if (!t || *t == 0 || *t > (1ULL << 62))
    co_return Error(Err::kInvalidArgument, "Invalid " + std::string(kReplicaMtimeHeader) +
                                               ": microseconds since the epoch");
  w.mtime_micros = static_cast<int64_t>(*t);
  SLUICE_CO_RETURN_IF_ERROR(co_await Require(ctx, action, ctx.bucket.str(), ctx.key.str()));
  SLUICE_CO_ASSIGN_OR_RETURN(meta::BucketInfo bucket,
                             co_await ctx.svc.index->GetBucket(ctx.bucket));
  if (bucket.versioning != meta::Versioning::kEnabled)
    co_return Error(Err::kInvalidRequest,
                    "A replica can only be written to a bucket with versioning Enabled");
  co_return std::optional<ReplicaWrite>(w);
}

Task<Result<std::optional<meta::ObjectMeta>>> ReplicaAlreadyHeld(Ctx& ctx, const ReplicaWrite& w,
                                                                 bool marker,
                                                                 const std::string& etag) {
  auto there = co_await ctx.svc.index->GetObject(ctx.bucket, ctx.key, w.version);
  if (!there.ok()) {
    const Err code = there.status().code();
    if (code == Err::kNoSuchVersion || code == Err::kNoSuchKey)
      co_return std::optional<meta::ObjectMeta>();
    co_return there.status();
  }
  // A marker has no status of its own; its id (a time and 64 random bits) names it.
  if (marker ? there->delete_marker
             : there->replication_status == meta::kReplicationReplica && !there->delete_marker &&
                   there->etag == etag)
    co_return std::optional<meta::ObjectMeta>(std::move(there).value());
  co_return Error(Err::kInvalidRequest, "version " + w.version.ToString() + " of " + ctx.key.str() +
                                            " already exists and is not this replica");
}

}  // namespace sluice::s3
