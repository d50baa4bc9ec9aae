// PutBucketPolicy, GetBucketPolicy, DeleteBucketPolicy, GetBucketPolicyStatus.
// The policy is validated (and compiled) before it is stored; a refused document changes
// nothing. Stored as sent, so GetBucketPolicy returns the caller's own text.
#include "auth/policy.h"

#include "s3/authz.h"
#include "s3/ops/ops.h"
#include "s3/payload.h"
#include "s3/respond.h"

namespace sluice::s3::ops {
namespace {

constexpr char kPolicyConfig[] = "policy";

// The stored policy document; NoSuchBucketPolicy when the bucket has none.
Task<Result<std::string>> LoadPolicy(const Ctx& ctx) {
  auto doc = co_await ctx.svc.index->GetBucketConfig(ctx.bucket, kPolicyConfig);
  if (doc.status().code() == Err::kNotFound)
    co_return Error(Err::kNoSuchBucketPolicy, "The bucket policy does not exist");
  co_return doc;
}

}  // namespace

Task<Status> PutBucketPolicy(Ctx& ctx) {
  const Services& svc = ctx.svc;
  SLUICE_CO_RETURN_IF_ERROR((co_await svc.index->GetBucket(ctx.bucket)).status());
  SLUICE_CO_ASSIGN_OR_RETURN(auto payload, Payload::Open(ctx));
  // S3 limits bucket policies to 20 KiB; read a little more so the parser can say so.
  SLUICE_CO_ASSIGN_OR_RETURN(std::string body,
                             co_await payload->ReadAll(size_t{64} * 1024, Err::kMalformedPolicy));
  SLUICE_CO_ASSIGN_OR_RETURN(auto parsed,
                             auth::Policy::Parse(body, auth::PolicyKind::kResource, ctx.bucket));
  if (svc.access && parsed->IsPublic()) {
    const BucketAccessEntry* e = AccessOfOwnBucket(ctx, ctx.bucket);
    std::shared_ptr<const BucketAccessEntry> read;
    if (!e) {
      SLUICE_CO_ASSIGN_OR_RETURN(read, co_await svc.access->Get(ctx.bucket));
      e = read.get();
    }
    if (e->block.block_public_policy)
      co_return Error(Err::kAccessDenied,
                      "Access Denied (the bucket's public access block refuses public policies)");
  }
  SLUICE_CO_RETURN_IF_ERROR(co_await svc.index->PutBucketConfig(ctx.bucket, kPolicyConfig, body));
  co_return co_await SendEmpty(ctx, 204);
}

Task<Status> GetBucketPolicy(Ctx& ctx) {
  SLUICE_CO_ASSIGN_OR_RETURN(std::string doc, co_await LoadPolicy(ctx));
  http::ResponseHead head;
  head.Set("Content-Type", "application/json");
  co_return co_await ctx.resp.Send(head, doc);
}

Task<Status> DeleteBucketPolicy(Ctx& ctx) {
  const Services& svc = ctx.svc;
  SLUICE_CO_RETURN_IF_ERROR(co_await svc.index->DeleteBucketConfig(ctx.bucket, kPolicyConfig));
  co_return co_await SendEmpty(ctx, 204);
}

Task<Status> GetBucketPolicyStatus(Ctx& ctx) {
  SLUICE_CO_ASSIGN_OR_RETURN(std::string doc, co_await LoadPolicy(ctx));
  SLUICE_CO_ASSIGN_OR_RETURN(auto policy, auth::Policy::Parse(doc, auth::PolicyKind::kResource));
  XmlDoc out("PolicyStatus");
  out.root().AddBool("IsPublic", policy->IsPublic());
  co_return co_await SendXml(ctx, out);
}

}  // namespace sluice::s3::ops
