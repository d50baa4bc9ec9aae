// PutBucketCors, GetBucketCors, DeleteBucketCors, and the preflight OPTIONS request.
// The headers on actual cross-origin requests are added by the dispatcher (handler.cc)
// through CorsHeadersFor.
#include "s3/cors.h"

#include "s3/ops/ops.h"
#include "s3/payload.h"
#include "s3/respond.h"

namespace sluice::s3::ops {
namespace {

constexpr char kCorsConfig[] = "cors";

Task<Result<std::vector<CorsRule>>> LoadRules(const Services& svc, const BucketName& bucket) {
  auto doc = co_await svc.index->GetBucketConfig(bucket, kCorsConfig);
  if (!doc.ok()) co_return doc.status();
  co_return ParseCorsConfiguration(*doc);
}

}  // namespace

Task<Status> PutBucketCors(Ctx& ctx) {
  const Services& svc = ctx.svc;
  SLUICE_CO_RETURN_IF_ERROR((co_await svc.index->GetBucket(ctx.bucket)).status());
  SLUICE_CO_ASSIGN_OR_RETURN(auto payload, Payload::Open(ctx));
  SLUICE_CO_ASSIGN_OR_RETURN(std::string body,
                             co_await payload->ReadAll(kMaxXmlBody, Err::kMalformedXML));
  SLUICE_CO_ASSIGN_OR_RETURN(auto rules, ParseCorsConfiguration(body));
  std::string doc = RenderCorsConfiguration(rules);
  SLUICE_CO_RETURN_IF_ERROR(co_await svc.index->PutBucketConfig(ctx.bucket, kCorsConfig, doc));
  co_return co_await SendEmpty(ctx, 200);
}

Task<Status> GetBucketCors(Ctx& ctx) {
  auto doc = co_await ctx.svc.index->GetBucketConfig(ctx.bucket, kCorsConfig);
  if (doc.status().code() == Err::kNotFound) co_return Error(Err::kNoSuchCORSConfiguration, "");
  if (!doc.ok()) co_return doc.status();
  http::ResponseHead head;
  head.Set("Content-Type", "application/xml");
  co_return co_await ctx.resp.Send(head, *doc);
}

Task<Status> DeleteBucketCors(Ctx& ctx) {
  const Services& svc = ctx.svc;
  SLUICE_CO_RETURN_IF_ERROR(co_await svc.index->DeleteBucketConfig(ctx.bucket, kCorsConfig));
  co_return co_await SendEmpty(ctx, 204);
}

// Unauthenticated, as browsers send it: the bucket's rules alone decide.
Task<Status> PreflightCors(Ctx& ctx) {
  std::string_view origin = ctx.req.header("origin");
  std::string_view method = ctx.req.header("access-control-request-method");
  if (origin.empty() || method.empty())
    co_return Error(Err::kBadRequest, "Insufficient information. Origin request header needed.");
  auto rules = co_await LoadRules(ctx.svc, ctx.bucket);
  if (rules.status().code() == Err::kNotFound)
    co_return Error(Err::kCorsForbidden, "CORSResponse: CORS is not enabled for this bucket.");
  if (!rules.ok()) co_return rules.status();
  std::string_view req_headers = ctx.req.header("access-control-request-headers");
  const CorsRule* rule = MatchCors(*rules, origin, method, req_headers);
  if (!rule) co_return Error(Err::kCorsForbidden, "");
  http::ResponseHead head;
  std::vector<std::pair<std::string, std::string>> headers;
  AddCorsHeaders(*rule, origin, true, req_headers, &headers);
  head.Set(headers);
  co_return co_await SendEmpty(ctx, 200, std::move(head));
}

Task<std::vector<std::pair<std::string, std::string>>> CorsHeadersFor(const Services& svc,
                                                                      const BucketName& bucket,
                                                                      std::string_view origin,
                                                                      std::string_view method) {
  std::vector<std::pair<std::string, std::string>> out;
  auto rules = co_await LoadRules(svc, bucket);
  if (!rules.ok()) co_return out;
  if (const CorsRule* rule = MatchCors(*rules, origin, method, ""))
    AddCorsHeaders(*rule, origin, false, "", &out);
  co_return out;
}

}  // namespace sluice::s3::ops
