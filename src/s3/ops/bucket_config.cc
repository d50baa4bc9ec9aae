// What S3 answers about configurations this server never holds yet (lifecycle, CORS,
// policy, encryption, ...), owner-only ACLs, and ListObjectVersions without versioning.
// Clients and tools probe these routinely; they get S3's own answer for "not configured"
// instead of a 501.
#include "common/strings.h"
#include "s3/headers.h"
#include "s3/ops/ops.h"
#include "s3/payload.h"
#include "s3/respond.h"

namespace sluice::s3::ops {
namespace {

struct ConfigAnswer {
  std::string_view subresource;
  Err missing;                 // kOk: answered with `empty_root` instead
  std::string_view empty_root;  // the root element of an empty configuration document
};

constexpr ConfigAnswer kAnswers[] = {
    {"cors", Err::kNoSuchCORSConfiguration, ""},
    {"lifecycle", Err::kNoSuchLifecycleConfiguration, ""},
    {"policy", Err::kNoSuchBucketPolicy, ""},
    {"website", Err::kNoSuchWebsiteConfiguration, ""},
    {"encryption", Err::kServerSideEncryptionConfigurationNotFound, ""},
    {"replication", Err::kReplicationConfigurationNotFound, ""},
    {"object-lock", Err::kObjectLockConfigurationNotFound, ""},
    {"ownershipControls", Err::kOwnershipControlsNotFound, ""},
    {"publicAccessBlock", Err::kNoSuchPublicAccessBlockConfiguration, ""},
    {"tagging", Err::kNoSuchTagSet, ""},
    {"logging", Err::kOk, "BucketLoggingStatus"},
    {"notification", Err::kOk, "NotificationConfiguration"},
    {"accelerate", Err::kOk, "AccelerateConfiguration"},
};

XmlDoc AclDocument(const Ctx& ctx) {
  XmlDoc doc("AccessControlPolicy");
  AddOwner(doc.root(), ctx);
  XmlNode grant = doc.root().Child("AccessControlList").Child("Grant");
  XmlNode grantee = grant.Child("Grantee");
  grantee.Attr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance").Attr("xsi:type", "CanonicalUser");
  grantee.Add("ID", ctx.auth.credential.owner_id).Add("DisplayName", ctx.auth.credential.display_name);
  grant.Add("Permission", "FULL_CONTROL");
  return doc;
}

// A PUT ?acl is accepted when it changes nothing: a private canned ACL, or a policy
// document that grants FULL_CONTROL to the owner alone.
Task<Status> CheckAclChangesNothing(Ctx& ctx) {
  SLUICE_CO_RETURN_IF_ERROR(CheckCannedAcl(ctx.req));
  if (ctx.req.has_header("x-amz-acl")) co_return Status::Ok();
  SLUICE_CO_ASSIGN_OR_RETURN(auto payload, Payload::Open(ctx));
  SLUICE_CO_ASSIGN_OR_RETURN(std::string body, co_await payload->ReadAll(kMaxXmlBody, Err::kMalformedXML));
  pugi::xml_document doc;
  SLUICE_CO_RETURN_IF_ERROR(ParseXml(body, "AccessControlPolicy", &doc));
  for (auto g : doc.document_element().child("AccessControlList").children("Grant")) {
    std::string id = g.child("Grantee").child("ID").text().as_string();
    std::string perm = g.child("Permission").text().as_string();
    if (id != ctx.auth.credential.owner_id || perm != "FULL_CONTROL")
      co_return Error(Err::kNotImplemented, "ACL grants to others are not implemented yet");
  }
  co_return Status::Ok();
}

}  // namespace

Task<Status> GetBucketSubresource(Ctx& ctx, const std::string& sub) {
  SLUICE_CO_RETURN_IF_ERROR(ctx.svc.index->GetBucket(ctx.bucket).status());
  if (sub == "policyStatus") {
    XmlDoc doc("PolicyStatus");
    doc.root().AddBool("IsPublic", false);
    co_return co_await SendXml(ctx, doc);
  }
  if (sub == "requestPayment") {
    XmlDoc doc("RequestPaymentConfiguration");
    doc.root().Add("Payer", "BucketOwner");
    co_return co_await SendXml(ctx, doc);
  }
  for (const auto& a : kAnswers) {
    if (a.subresource != sub) continue;
    if (a.missing != Err::kOk) co_return Error(a.missing, "");
    XmlDoc doc(a.empty_root);
    co_return co_await SendXml(ctx, doc);
  }
  co_return Error(Err::kNotImplemented, "");
}

Task<Status> DeleteBucketSubresource(Ctx& ctx) {
  SLUICE_CO_RETURN_IF_ERROR(ctx.svc.index->GetBucket(ctx.bucket).status());
  co_return co_await SendEmpty(ctx, 204);  // nothing was configured, so nothing to delete
}

Task<Status> GetBucketAcl(Ctx& ctx) {
  SLUICE_CO_RETURN_IF_ERROR(ctx.svc.index->GetBucket(ctx.bucket).status());
  co_return co_await SendXml(ctx, AclDocument(ctx));
}

Task<Status> PutBucketAcl(Ctx& ctx) {
  SLUICE_CO_RETURN_IF_ERROR(ctx.svc.index->GetBucket(ctx.bucket).status());
  SLUICE_CO_RETURN_IF_ERROR(co_await CheckAclChangesNothing(ctx));
  co_return co_await SendEmpty(ctx, 200);
}

Task<Status> GetObjectAcl(Ctx& ctx) {
  SLUICE_CO_RETURN_IF_ERROR(ctx.svc.index->GetObject(ctx.bucket, ctx.key).status());
  co_return co_await SendXml(ctx, AclDocument(ctx));
}

Task<Status> PutObjectAcl(Ctx& ctx) {
  SLUICE_CO_RETURN_IF_ERROR(ctx.svc.index->GetObject(ctx.bucket, ctx.key).status());
  SLUICE_CO_RETURN_IF_ERROR(co_await CheckAclChangesNothing(ctx));
  co_return co_await SendEmpty(ctx, 200);
}

// Without versioning every object has exactly one version, "null", and it is the latest.
Task<Status> ListObjectVersions(Ctx& ctx) {
  const Query& q = ctx.query;
  meta::ListQuery lq;
  lq.prefix = q.Get("prefix");
  lq.delimiter = q.Get("delimiter");
  lq.start_after = q.Get("key-marker");
  lq.max_keys = 1000;
  if (q.Has("max-keys")) {
    auto v = ParseUint(q.Get("max-keys"));
    if (!v) co_return Error(Err::kInvalidArgument, "Provided max-keys must be an integer");
    lq.max_keys = static_cast<uint32_t>(std::min<uint64_t>(*v, 1000));
  }
  bool url = false;
  if (q.Has("encoding-type")) {
    if (q.Get("encoding-type") != "url") co_return Error(Err::kInvalidArgument, "Invalid Encoding Method specified in Request");
    url = true;
  }
  auto enc = [url](std::string_view s) { return url ? UriEncode(s, false) : std::string(s); };
  SLUICE_CO_ASSIGN_OR_RETURN(meta::ListPage page, ctx.svc.index->ListObjects(ctx.bucket, lq));
  XmlDoc doc("ListVersionsResult");
  XmlNode r = doc.root();
  r.Add("Name", ctx.bucket).Add("Prefix", enc(lq.prefix)).Add("KeyMarker", enc(lq.start_after))
      .Add("VersionIdMarker", q.Get("version-id-marker"));
  if (page.truncated) r.Add("NextKeyMarker", enc(page.next_marker)).Add("NextVersionIdMarker", "null");
  r.Add("MaxKeys", lq.max_keys);
  if (!lq.delimiter.empty()) r.Add("Delimiter", enc(lq.delimiter));
  if (url) r.Add("EncodingType", "url");
  r.AddBool("IsTruncated", page.truncated);
  for (const auto& e : page.objects) {
    XmlNode v = r.Child("Version");
    v.Add("Key", enc(e.key)).Add("VersionId", "null").AddBool("IsLatest", true)
        .Add("LastModified", FormatIso8601(e.meta.mtime_micros)).Add("ETag", QuoteEtag(e.meta.etag))
        .Add("Size", e.meta.size).Add("StorageClass", "STANDARD");
    AddOwner(v, ctx);
  }
  for (const auto& p : page.common_prefixes) r.Child("CommonPrefixes").Add("Prefix", enc(p));
  co_return co_await SendXml(ctx, doc);
}

}  // namespace sluice::s3::ops
