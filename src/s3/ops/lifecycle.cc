// Put/Get/DeleteBucketLifecycleConfiguration. The rules are validated here and stored in
// canonical form; s3/lifecycle_worker.cc applies them.
#include "s3/lifecycle.h"

#include "s3/authz.h"
#include "s3/ops/ops.h"
#include "s3/payload.h"
#include "s3/respond.h"

namespace sluice::s3::ops {

Task<Status> PutBucketLifecycle(Ctx& ctx) {
  const Services& svc = ctx.svc;
  SLUICE_CO_RETURN_IF_ERROR((co_await svc.index->GetBucket(ctx.bucket)).status());
  SLUICE_CO_ASSIGN_OR_RETURN(auto payload, Payload::Open(ctx));
  SLUICE_CO_ASSIGN_OR_RETURN(std::string body,
                             co_await payload->ReadAll(kMaxXmlBody, Err::kMalformedXML));
  SLUICE_CO_ASSIGN_OR_RETURN(LifecycleConfig config, ParseLifecycle(body));
  std::string doc = RenderLifecycle(config);
  SLUICE_CO_RETURN_IF_ERROR(co_await svc.index->PutBucketConfig(ctx.bucket, kLifecycleConfig, doc));
  co_return co_await SendEmpty(ctx, 200);
}

Task<Status> GetBucketLifecycle(Ctx& ctx) {
  auto doc = co_await ctx.svc.index->GetBucketConfig(ctx.bucket, kLifecycleConfig);
  if (!doc.ok()) {
    if (doc.status().code() == Err::kNotFound)
      co_return Error(Err::kNoSuchLifecycleConfiguration,
                      "The lifecycle configuration does not exist");
    co_return doc.status();
  }
  http::ResponseHead head;
  head.Set("Content-Type", "application/xml");
  co_return co_await ctx.resp.Send(head, *doc);
}

Task<Status> DeleteBucketLifecycle(Ctx& ctx) {
  const Services& svc = ctx.svc;
  Status s = co_await svc.index->DeleteBucketConfig(ctx.bucket, kLifecycleConfig);
  if (s.code() != Err::kNotFound) SLUICE_CO_RETURN_IF_ERROR(s);
  co_return co_await SendEmpty(ctx, 204);
}

}  // namespace sluice::s3::ops
