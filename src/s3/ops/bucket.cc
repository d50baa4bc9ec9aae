// ListBuckets, CreateBucket, HeadBucket, DeleteBucket, GetBucketLocation,
// Get/PutBucketVersioning.
#include "common/strings.h"
#include "s3/authz.h"
#include "s3/headers.h"
#include "s3/ops/ops.h"
#include "s3/payload.h"
#include "s3/respond.h"
#include "s3/router.h"

namespace sluice::s3::ops {

// ListBuckets, paged as S3 pages it since 2024: max-buckets (1-10000), prefix, and an
// opaque continuation-token (here the base64 of the last name returned).
Task<Status> ListBuckets(Ctx& ctx) {
  size_t max = SIZE_MAX;
  if (ctx.query.Has("max-buckets")) {
    auto n = ParseUint(ctx.query.Get("max-buckets"));
    if (!n || *n < 1 || *n > 10000)
      co_return Error(Err::kInvalidArgument, "max-buckets must be an integer between 1 and 10000");
    max = static_cast<size_t>(*n);
  }
  std::string prefix(ctx.query.Get("prefix"));
  std::string after;
  if (ctx.query.Has("continuation-token")) {
    auto t = Base64Decode(ctx.query.Get("continuation-token"));
    if (!t || t->empty())
      co_return Error(Err::kInvalidArgument, "The continuation token provided is incorrect");
    after = std::move(*t);
  }
  SLUICE_CO_ASSIGN_OR_RETURN(auto buckets, co_await ctx.svc.index->ListBuckets());
  XmlDoc doc("ListAllMyBucketsResult");
  XmlNode list = doc.root().Child("Buckets");
  AddOwner(doc.root(), ctx);
  // Without s3:ListAllMyBuckets a caller sees the buckets it may list, not an error: a
  // key scoped to one data set still works with `aws s3 ls`.
  const bool all = co_await IsAllowed(ctx, "s3:ListAllMyBuckets", "", "");
  size_t n = 0;
  std::string last;
  bool more = false;
  for (const auto& b : buckets) {  // in name order
    if (!b.name.str().starts_with(prefix) || (!after.empty() && b.name.str() <= after)) continue;
    // No co_await inside && or ?: (GCC 12 miscompiles it): one statement each.
    if (!all) {
      const bool may_list = co_await IsAllowed(ctx, "s3:ListBucket", b.name, "");
      if (!may_list) continue;
    }
    if (n == max) {
      more = true;
      break;
    }
    list.Child("Bucket")
        .Add("Name", b.name)
        .Add("CreationDate", FormatIso8601(b.created_micros))
        .Add("BucketRegion", b.region.empty() ? ctx.svc.region : b.region);
    last = b.name;
    n++;
  }
  if (more) doc.root().Add("ContinuationToken", Base64Encode(last));
  if (ctx.query.Has("prefix")) doc.root().Add("Prefix", prefix);
  co_return co_await SendXml(ctx, doc);
}

Task<Status> CreateBucket(Ctx& ctx) {
  SLUICE_CO_ASSIGN_OR_RETURN(std::string acl,
                             ParseCannedAcl(ctx.req, ctx.auth.credential.owner_id));
  // Object ownership: BucketOwnerEnforced (ACLs disabled) unless the request says otherwise,
  // as S3 has created buckets since April 2023.
  std::string ownership = "BucketOwnerEnforced";
  if (ctx.req.has_header("x-amz-object-ownership")) {
    ownership = std::string(Trim(ctx.req.header("x-amz-object-ownership")));
    if (!IsObjectOwnership(ownership))
      co_return Error(Err::kInvalidArgument, "Invalid x-amz-object-ownership: " + ownership);
  }
  if (ownership == "BucketOwnerEnforced" && !acl.empty())
    co_return Error(Err::kInvalidBucketAclWithObjectOwnership, "");
  std::string region = ctx.svc.region;
  if (ctx.req.content_length.value_or(0) > 0 || ctx.req.chunked) {
    SLUICE_CO_ASSIGN_OR_RETURN(auto payload, Payload::Open(ctx));
    SLUICE_CO_ASSIGN_OR_RETURN(std::string body,
                               co_await payload->ReadAll(kMaxXmlBody, Err::kMalformedXML));
    if (!body.empty()) {
      pugi::xml_document doc;
      SLUICE_CO_RETURN_IF_ERROR(ParseXml(body, "CreateBucketConfiguration", &doc));
      std::string loc = ChildText(doc.document_element(), "LocationConstraint");
      if (!loc.empty() && loc != ctx.svc.region)
        co_return Error(Err::kInvalidArgument /* IllegalLocationConstraintException in S3 */,
                        "The " + loc +
                            " location constraint is incompatible with the region "
                            "this server runs in (" +
                            ctx.svc.region + ")");
    }
  }
  meta::BucketInfo info;
  std::string_view lock = Trim(ctx.req.header("x-amz-bucket-object-lock-enabled"));
  if (!lock.empty() && !EqualsIgnoreCase(lock, "true") && !EqualsIgnoreCase(lock, "false"))
    co_return Error(Err::kInvalidArgument,
                    "x-amz-bucket-object-lock-enabled must be true or false");
  if (EqualsIgnoreCase(lock, "true")) {
    // Object Lock at creation: versioning on, and it stays on.
    info.versioning = meta::Versioning::kEnabled;
    info.lock.enabled = true;
  }
  info.name = ctx.bucket;
  info.created_micros = ctx.svc.clock->NowMicros();
  info.owner = ctx.auth.credential.owner_id;
  info.region = region;
  meta::AsyncIndex* index = ctx.svc.index;
  // Re-creating a bucket one already owns: 409 BucketAlreadyOwnedByYou, except in us-east-1,
  // where S3 answers 200 and resets the bucket's ACL to the one this request gives.
  const bool legacy_region = region == "us-east-1";
  Status created = co_await index->CreateBucket(info);
  if (created.code() == Err::kBucketAlreadyOwnedByYou && legacy_region) {
    if (acl.empty()) {
      Status del = co_await index->DeleteBucketConfig(info.name, "acl");
      if (del.code() != Err::kNotFound) SLUICE_CO_RETURN_IF_ERROR(del);
    }
  } else {
    SLUICE_CO_RETURN_IF_ERROR(created);
    SLUICE_CO_RETURN_IF_ERROR(
        co_await index->PutBucketConfig(info.name, kOwnershipConfig, ownership));
  }
  if (!acl.empty())
    SLUICE_CO_RETURN_IF_ERROR(co_await index->PutBucketConfig(info.name, "acl", acl));
  http::ResponseHead head;
  head.Set("Location", "/" + ctx.bucket.str());
  co_return co_await SendEmpty(ctx, 200, std::move(head));
}

Task<Status> HeadBucket(Ctx& ctx) {
  SLUICE_CO_ASSIGN_OR_RETURN(auto b, co_await ctx.svc.index->GetBucket(ctx.bucket));
  http::ResponseHead head;
  head.Set("x-amz-bucket-region", b.region.empty() ? ctx.svc.region : b.region);
  co_return co_await SendEmpty(ctx, 200, std::move(head));
}

Task<Status> DeleteBucket(Ctx& ctx) {
  SLUICE_CO_RETURN_IF_ERROR(co_await ctx.svc.index->DeleteBucket(ctx.bucket));
  co_return co_await SendEmpty(ctx, 204);
}

Task<Status> GetBucketLocation(Ctx& ctx) {
  SLUICE_CO_ASSIGN_OR_RETURN(auto b, co_await ctx.svc.index->GetBucket(ctx.bucket));
  std::string region = b.region.empty() ? ctx.svc.region : b.region;
  XmlDoc doc("LocationConstraint");
  // us-east-1 is the empty constraint in S3's wire format.
  if (region != "us-east-1") doc.root().Text(region);
  co_return co_await SendXml(ctx, doc);
}

Task<Status> GetBucketUsage(Ctx& ctx) {
  SLUICE_CO_ASSIGN_OR_RETURN(meta::BucketUsage u,
                             co_await ctx.svc.index->GetBucketUsage(ctx.bucket));
  XmlDoc doc("BucketUsage");
  doc.root().Add("Bucket", ctx.bucket.str());
  doc.root().Add("Objects", std::to_string(u.objects));
  doc.root().Add("Bytes", std::to_string(u.bytes));
  doc.root().Add("Versions", std::to_string(u.versions));
  doc.root().Add("VersionBytes", std::to_string(u.version_bytes));
  co_return co_await SendXml(ctx, doc);
}

Task<Status> GetBucketVersioning(Ctx& ctx) {
  SLUICE_CO_ASSIGN_OR_RETURN(meta::BucketInfo b, co_await ctx.svc.index->GetBucket(ctx.bucket));
  XmlDoc doc("VersioningConfiguration");  // never enabled: no Status element, as S3 answers
  if (b.versioning == meta::Versioning::kEnabled) doc.root().Add("Status", "Enabled");
  if (b.versioning == meta::Versioning::kSuspended) doc.root().Add("Status", "Suspended");
  co_return co_await SendXml(ctx, doc);
}

// <VersioningConfiguration><Status>Enabled|Suspended</Status></VersioningConfiguration>.
// No Status leaves the state as it is; MFA delete is not implemented (501, never ignored).
Task<Status> PutBucketVersioning(Ctx& ctx) {
  SLUICE_CO_RETURN_IF_ERROR((co_await ctx.svc.index->GetBucket(ctx.bucket)).status());
  SLUICE_CO_ASSIGN_OR_RETURN(auto payload, Payload::Open(ctx));
  SLUICE_CO_ASSIGN_OR_RETURN(std::string body,
                             co_await payload->ReadAll(kMaxXmlBody, Err::kMalformedXML));
  pugi::xml_document doc;
  SLUICE_CO_RETURN_IF_ERROR(ParseXml(body, "VersioningConfiguration", &doc));
  pugi::xml_node root = doc.document_element();
  std::string mfa = ChildText(root, "MfaDelete");
  if (mfa.empty()) mfa = ChildText(root, "MFADelete");
  if (mfa == "Enabled") co_return Error(Err::kNotImplemented, "MFA delete is not implemented");
  if (!mfa.empty() && mfa != "Disabled")
    co_return Error(Err::kMalformedXML, "MfaDelete must be Enabled or Disabled");
  const bool has_status = root.child("Status") != nullptr;
  std::string status = ChildText(root, "Status");
  if (has_status) {
    meta::Versioning state;
    if (status == "Enabled")
      state = meta::Versioning::kEnabled;
    else if (status == "Suspended")
      state = meta::Versioning::kSuspended;
    else
      co_return Error(Err::kMalformedXML, "Status must be Enabled or Suspended");
    if (state == meta::Versioning::kSuspended && ctx.access && ctx.access->replication)
      co_return Error(Err::kInvalidBucketState,
                      "A replication configuration is present on this bucket, so the versioning "
                      "state cannot be changed.");
    SLUICE_CO_RETURN_IF_ERROR(co_await ctx.svc.index->SetBucketVersioning(ctx.bucket, state));
  }
  co_return co_await SendEmpty(ctx, 200);
}

}  // namespace sluice::s3::ops
