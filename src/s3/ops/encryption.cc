// Bucket default encryption: PutBucketEncryption, GetBucketEncryption,
// DeleteBucketEncryption (docs/encryption.md). A bucket with a default encrypts every new
// object written without encryption headers with SSE-S3.
#include "s3/authz.h"
#include "s3/ops/ops.h"
#include "s3/payload.h"
#include "s3/respond.h"
#include "s3/sse.h"
#include "s3/xml.h"

namespace sluice::s3::ops {
namespace {

constexpr char kEncryptionConfig[] = "encryption";

}  // namespace

Task<Result<SseRequest>> WriteEncryption(Ctx& ctx) {
  SseRequest r;
  if (ctx.sse_headers) {
    SLUICE_CO_ASSIGN_OR_RETURN(r, ParseWriteSse(ctx.req));
    if (r.mode != SseMode::kNone) co_return r;
  }
  SLUICE_CO_ASSIGN_OR_RETURN(bool by_default, co_await BucketEncryptsByDefault(ctx));
  if (by_default) r.mode = SseMode::kS3;
  co_return r;
}

Task<Result<bool>> BucketEncryptsByDefault(Ctx& ctx) {
  if (const BucketAccessEntry* e = AccessOfOwnBucket(ctx, ctx.bucket)) co_return e->default_sse;
  auto stored = co_await ctx.svc.index->GetBucketConfig(ctx.bucket, kEncryptionConfig);
  if (stored.ok()) co_return true;
  if (stored.status().code() == Err::kNotFound) co_return false;
  co_return stored.status();
}

Task<Status> PutBucketEncryption(Ctx& ctx) {
  const Services& svc = ctx.svc;
  SLUICE_CO_RETURN_IF_ERROR((co_await svc.index->GetBucket(ctx.bucket)).status());
  SLUICE_CO_ASSIGN_OR_RETURN(auto payload, Payload::Open(ctx));
  SLUICE_CO_ASSIGN_OR_RETURN(std::string body,
                             co_await payload->ReadAll(kMaxXmlBody, Err::kMalformedXML));
  SLUICE_CO_ASSIGN_OR_RETURN(BucketEncryption d, ParseBucketEncryption(body));
  if (!svc.sse_keys)
    co_return Error(Err::kNotImplemented, "SSE-S3 needs a master key file, which is not loaded");
  const std::string stored = d.bucket_key ? "AES256 bucket-key" : "AES256";
  SLUICE_CO_RETURN_IF_ERROR(
      co_await svc.index->PutBucketConfig(ctx.bucket, kEncryptionConfig, stored));
  co_return co_await SendEmpty(ctx, 200);
}

Task<Status> GetBucketEncryption(Ctx& ctx) {
  SLUICE_CO_RETURN_IF_ERROR((co_await ctx.svc.index->GetBucket(ctx.bucket)).status());
  auto stored = co_await ctx.svc.index->GetBucketConfig(ctx.bucket, kEncryptionConfig);
  if (stored.status().code() == Err::kNotFound)
    co_return Error(Err::kServerSideEncryptionConfigurationNotFound, "");
  if (!stored.ok()) co_return stored.status();
  XmlDoc doc("ServerSideEncryptionConfiguration");
  XmlNode rule = doc.root().Child("Rule");
  rule.Child("ApplyServerSideEncryptionByDefault").Add("SSEAlgorithm", "AES256");
  rule.AddBool("BucketKeyEnabled", *stored == "AES256 bucket-key");
  co_return co_await SendXml(ctx, doc);
}

Task<Status> DeleteBucketEncryption(Ctx& ctx) {
  const Services& svc = ctx.svc;
  SLUICE_CO_RETURN_IF_ERROR((co_await svc.index->GetBucket(ctx.bucket)).status());
  SLUICE_CO_RETURN_IF_ERROR(co_await svc.index->DeleteBucketConfig(ctx.bucket, kEncryptionConfig));
  co_return co_await SendEmpty(ctx, 204);
}

}  // namespace sluice::s3::ops
