// Put/Get/DeleteBucketReplication. The rules are validated here and stored in canonical
// form; s3/replication_worker.cc copies what they select.
#include "s3/replication.h"

#include "s3/authz.h"
#include "s3/ops/ops.h"
#include "s3/payload.h"
#include "s3/replication_target.h"
#include "s3/respond.h"

namespace sluice::s3::ops {

Task<Status> PutBucketReplication(Ctx& ctx) {
  const Services& svc = ctx.svc;
  SLUICE_CO_ASSIGN_OR_RETURN(meta::BucketInfo source, co_await svc.index->GetBucket(ctx.bucket));
  SLUICE_CO_ASSIGN_OR_RETURN(auto payload, Payload::Open(ctx));
  SLUICE_CO_ASSIGN_OR_RETURN(std::string body,
                             co_await payload->ReadAll(kMaxXmlBody, Err::kMalformedXML));
  SLUICE_CO_ASSIGN_OR_RETURN(ReplicationConfig config, ParseReplication(body));
  if (source.versioning != meta::Versioning::kEnabled)
    co_return Error(
        Err::kInvalidRequest,
        "Versioning must be 'Enabled' on the bucket to apply a replication configuration");
  // Every rule names the same destination (ParseReplication checks).
  const std::string& target = config.rules.front().dest_target;
  if (!target.empty()) {
    // A remote target writes with the credentials an admin registered for it, so only an
    // admin may point a bucket at one.
    const auth::Identity* who = ctx.auth.credential.identity.get();
    if (!who || !who->admin || who->is_session())
      co_return Error(Err::kAccessDenied,
                      "Access Denied: only root and admin users may "
                      "replicate to a remote target");
    if (!svc.replication_targets)
      co_return Error(Err::kNotImplemented, "this server has no remote replication targets");
    auto found =
        co_await Offload(*svc.blocking, [&] { return svc.replication_targets->Find(target); });
    if (!found.ok()) {
      if (found.status().code() == Err::kNotFound)
        co_return Error(Err::kInvalidRequest,
                        "Destination " + std::string(kReplicationTargetArn) + target +
                            " is not a registered replication target (sluice admin replication "
                            "target add)");
      co_return found.status();
    }
    SLUICE_CO_RETURN_IF_ERROR(co_await svc.index->PutBucketConfig(ctx.bucket, kReplicationConfig,
                                                                  RenderReplication(config)));
    co_return co_await SendEmpty(ctx, 200);
  }
  const std::string& dest_name = config.rules.front().dest_bucket;
  if (dest_name == ctx.bucket.str())
    co_return Error(Err::kInvalidRequest,
                    "Destination bucket cannot be the same as the source bucket.");
  auto dest = co_await svc.index->GetBucket(BucketName::Trusted(dest_name));
  if (!dest.ok()) {
    if (dest.status().code() == Err::kNoSuchBucket)
      co_return Error(Err::kInvalidRequest, "Destination bucket must exist: " + dest_name);
    co_return dest.status();
  }
  if (dest->versioning != meta::Versioning::kEnabled)
    co_return Error(Err::kInvalidRequest, "Destination bucket must have versioning enabled.");
  if (!dest->snapshot_of.empty())
    co_return Error(Err::kInvalidRequest,
                    "Destination bucket is a read-only snapshot: " + dest_name);
  // The worker writes as the server, so a user may only replicate into a bucket of the
  // same owner (S3 asks the same through the rule's IAM role).
  if (dest->owner != source.owner)
    co_return Error(Err::kAccessDenied, "Access Denied: the destination bucket " + dest_name +
                                            " belongs to another owner than the source bucket");
  SLUICE_CO_RETURN_IF_ERROR(co_await svc.index->PutBucketConfig(ctx.bucket, kReplicationConfig,
                                                                RenderReplication(config)));
  co_return co_await SendEmpty(ctx, 200);
}

Task<Status> GetBucketReplication(Ctx& ctx) {
  auto doc = co_await ctx.svc.index->GetBucketConfig(ctx.bucket, kReplicationConfig);
  if (!doc.ok()) {
    if (doc.status().code() == Err::kNotFound)
      co_return Error(Err::kReplicationConfigurationNotFound,
                      "The replication configuration was not found");
    co_return doc.status();
  }
  http::ResponseHead head;
  head.Set("Content-Type", "application/xml");
  co_return co_await ctx.resp.Send(head, *doc);
}

Task<Status> DeleteBucketReplication(Ctx& ctx) {
  Status s = co_await ctx.svc.index->DeleteBucketConfig(ctx.bucket, kReplicationConfig);
  if (s.code() != Err::kNotFound) SLUICE_CO_RETURN_IF_ERROR(s);
  // A configuration put again copies its existing objects again.
  s = co_await ctx.svc.index->DeleteBucketConfig(ctx.bucket, "replication-existing");
  if (s.code() != Err::kNotFound) SLUICE_CO_RETURN_IF_ERROR(s);
  co_return co_await SendEmpty(ctx, 204);
}

}  // namespace sluice::s3::ops
