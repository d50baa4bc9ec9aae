// What S3 answers about configurations this server never holds yet (lifecycle, policy,
// encryption, ...), and owner-only ACLs. CORS is real: ops/cors.cc.
// Clients and tools probe these routinely; they get S3's own answer for "not configured"
// instead of a 501.
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

}  // namespace sluice::s3::ops
