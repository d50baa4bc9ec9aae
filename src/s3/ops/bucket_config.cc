// What S3 answers about configurations this server never holds yet (lifecycle,
// encryption, ...), and canned ACLs on buckets and objects (turned into grants by
// s3/authz.cc). CORS and bucket policies are real: ops/cors.cc, ops/policy.cc.
// Clients and tools probe these routinely; they get S3's own answer for "not configured"
// instead of a 501.
#include "s3/authz.h"
#include "s3/headers.h"
#include "s3/ops/ops.h"
#include "s3/payload.h"
#include "s3/respond.h"
#include "s3/versions.h"

namespace sluice::s3::ops {
namespace {

struct ConfigAnswer {
  std::string_view subresource;
  Err missing;                  // kOk: answered with `empty_root` instead
  std::string_view empty_root;  // the root element of an empty configuration document
};

constexpr ConfigAnswer kAnswers[] = {
    {"lifecycle", Err::kNoSuchLifecycleConfiguration, ""},
    {"website", Err::kNoSuchWebsiteConfiguration, ""},
    {"encryption", Err::kServerSideEncryptionConfigurationNotFound, ""},
    {"object-lock", Err::kObjectLockConfigurationNotFound, ""},
    {"ownershipControls", Err::kOwnershipControlsNotFound, ""},
    {"publicAccessBlock", Err::kNoSuchPublicAccessBlockConfiguration, ""},
    {"tagging", Err::kNoSuchTagSet, ""},
    {"logging", Err::kOk, "BucketLoggingStatus"},
    {"notification", Err::kOk, "NotificationConfiguration"},
    {"accelerate", Err::kOk, "AccelerateConfiguration"},
};

constexpr char kAllUsers[] = "http://acs.amazonaws.com/groups/global/AllUsers";
constexpr char kAuthUsers[] = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

// The group grants a canned ACL stands for, then the owner's FULL_CONTROL (groups first, as
// RGW lists them and tools compare); no grant at all for kNoGrants.
XmlDoc AclDocument(const Ctx& ctx, std::string_view acl) {
  XmlDoc doc("AccessControlPolicy");
  AddOwner(doc.root(), ctx);
  XmlNode list = doc.root().Child("AccessControlList");
  if (acl == kNoGrants) return doc;
  auto grant = [&](std::string_view type, std::string_view perm) {
    XmlNode g = list.Child("Grant");
    XmlNode grantee = g.Child("Grantee");
    grantee.Attr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance").Attr("xsi:type", type);
    return std::pair{g, grantee};
  };
  auto group = [&](const char* uri, const char* perm) {
    auto [g, grantee] = grant("Group", perm);
    grantee.Add("URI", uri);
    g.Add("Permission", perm);
  };
  if (acl == "public-read" || acl == "public-read-write") group(kAllUsers, "READ");
  if (acl == "public-read-write") group(kAllUsers, "WRITE");
  if (acl == "authenticated-read") group(kAuthUsers, "READ");
  auto [og, owner] = grant("CanonicalUser", "FULL_CONTROL");
  owner.Add("ID", ctx.auth.credential.owner_id)
      .Add("DisplayName", ctx.auth.credential.display_name);
  og.Add("Permission", "FULL_CONTROL");
  return doc;
}

// The canned ACL a PUT ?acl asks for: the x-amz-acl header, or an AccessControlPolicy
// body whose grants are exactly those of a canned ACL (the owner's FULL_CONTROL plus
// AllUsers READ / WRITE or AuthenticatedUsers READ). Other grants are NotImplemented.
Task<Result<std::string>> RequestedAcl(Ctx& ctx) {
  if (ctx.req.has_header("x-amz-acl") || ctx.req.has_header("x-amz-grant-read") ||
      ctx.req.has_header("x-amz-grant-full-control") || ctx.req.has_header("x-amz-grant-write") ||
      ctx.req.has_header("x-amz-grant-read-acp") || ctx.req.has_header("x-amz-grant-write-acp"))
    co_return ParseCannedAcl(ctx.req, ctx.auth.credential.owner_id);
  SLUICE_CO_ASSIGN_OR_RETURN(auto payload, Payload::Open(ctx));
  SLUICE_CO_ASSIGN_OR_RETURN(std::string body,
                             co_await payload->ReadAll(kMaxXmlBody, Err::kMalformedXML));
  pugi::xml_document doc;
  SLUICE_CO_RETURN_IF_ERROR(ParseXml(body, "AccessControlPolicy", &doc));
  std::vector<AclGrant> grants;
  for (auto g : doc.document_element().child("AccessControlList").children("Grant")) {
    pugi::xml_node grantee = g.child("Grantee");
    AclGrant grant;
    grant.permission = g.child("Permission").text().as_string();
    if (grantee.child("ID"))
      grant = {"id", grantee.child("ID").text().as_string(), grant.permission};
    else if (grantee.child("EmailAddress"))
      grant = {"emailAddress", grantee.child("EmailAddress").text().as_string(), grant.permission};
    else if (grantee.child("URI"))
      grant = {"uri", grantee.child("URI").text().as_string(), grant.permission};
    else
      co_return Error(Err::kMalformedXML, "a Grantee needs an ID, an EmailAddress or a URI");
    grants.push_back(std::move(grant));
  }
  co_return CannedAclOfGrants(grants, ctx.auth.credential.owner_id);
}

}  // namespace

Task<Status> GetBucketSubresource(Ctx& ctx, const std::string& sub) {
  SLUICE_CO_RETURN_IF_ERROR((co_await ctx.svc.index->GetBucket(ctx.bucket)).status());
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
  SLUICE_CO_RETURN_IF_ERROR((co_await ctx.svc.index->GetBucket(ctx.bucket)).status());
  co_return co_await SendEmpty(ctx, 204);  // nothing was configured, so nothing to delete
}

Task<Status> GetBucketAcl(Ctx& ctx) {
  SLUICE_CO_RETURN_IF_ERROR((co_await ctx.svc.index->GetBucket(ctx.bucket)).status());
  auto acl = co_await ctx.svc.index->GetBucketConfig(ctx.bucket, "acl");
  if (!acl.ok() && acl.status().code() != Err::kNotFound) co_return acl.status();
  std::string canned;  // (no ?: inside a co_await expression: GCC 12 miscompiles it)
  if (acl.ok()) canned = *acl;
  XmlDoc doc = AclDocument(ctx, canned);
  co_return co_await SendXml(ctx, doc);
}

Task<Status> PutBucketAcl(Ctx& ctx) {
  const Services& svc = ctx.svc;
  SLUICE_CO_RETURN_IF_ERROR((co_await svc.index->GetBucket(ctx.bucket)).status());
  SLUICE_CO_ASSIGN_OR_RETURN(std::string acl, co_await RequestedAcl(ctx));
  SLUICE_CO_RETURN_IF_ERROR(co_await CheckAclWrite(ctx, ctx.bucket, acl));
  if (acl.empty())
    SLUICE_CO_RETURN_IF_ERROR(co_await svc.index->DeleteBucketConfig(ctx.bucket, "acl"));
  else
    SLUICE_CO_RETURN_IF_ERROR(co_await svc.index->PutBucketConfig(ctx.bucket, "acl", acl));
  co_return co_await SendEmpty(ctx, 200);
}

Task<Status> GetObjectAcl(Ctx& ctx) {
  SLUICE_CO_ASSIGN_OR_RETURN(meta::ObjectMeta m, co_await ReadObjectVersion(ctx));
  XmlDoc doc = AclDocument(ctx, m.acl);
  http::ResponseHead head;
  AddVersionHeader(head, m.version);
  co_return co_await SendXml(ctx, doc, std::move(head));
}

Task<Status> PutObjectAcl(Ctx& ctx) {
  const Services& svc = ctx.svc;
  SLUICE_CO_ASSIGN_OR_RETURN(meta::ObjectMeta m, co_await ReadObjectVersion(ctx));
  SLUICE_CO_ASSIGN_OR_RETURN(std::string acl, co_await RequestedAcl(ctx));
  SLUICE_CO_RETURN_IF_ERROR(co_await CheckAclWrite(ctx, ctx.bucket, acl));
  SLUICE_CO_RETURN_IF_ERROR(
      co_await svc.index->SetObjectAcl(ctx.bucket, ctx.key, ChangeTarget(ctx, m), acl));
  http::ResponseHead head;
  AddVersionHeader(head, m.version);
  co_return co_await SendEmpty(ctx, 200, std::move(head));
}

}  // namespace sluice::s3::ops
