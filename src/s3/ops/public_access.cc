// PutPublicAccessBlock, GetPublicAccessBlock, DeletePublicAccessBlock (bucket level), and
// Put/Get/DeleteBucketOwnershipControls. Both are kept as bucket configurations and enforced
// by s3/authz.cc (BucketAccessCache): the public access block on ACL grants, ACL writes and
// bucket policies; BucketOwnerEnforced by disabling ACLs.
#include "common/strings.h"
#include "s3/authz.h"
#include "s3/ops/ops.h"
#include "s3/payload.h"
#include "s3/respond.h"

namespace sluice::s3::ops {
namespace {

constexpr std::string_view kBlockFields[] = {"BlockPublicAcls", "IgnorePublicAcls",
                                             "BlockPublicPolicy", "RestrictPublicBuckets"};

Task<Result<pugi::xml_document>> ReadXmlBody(Ctx& ctx, std::string_view root) {
  SLUICE_CO_ASSIGN_OR_RETURN(auto payload, Payload::Open(ctx));
  SLUICE_CO_ASSIGN_OR_RETURN(std::string body,
                             co_await payload->ReadAll(kMaxXmlBody, Err::kMalformedXML));
  pugi::xml_document doc;
  SLUICE_CO_RETURN_IF_ERROR(ParseXml(body, root, &doc));
  co_return doc;
}

Task<Status> StoreConfig(Ctx& ctx, const char* name, std::optional<std::string> value) {
  const Services& svc = ctx.svc;
  if (value) {
    SLUICE_CO_RETURN_IF_ERROR(co_await svc.index->PutBucketConfig(ctx.bucket, name, *value));
  } else {
    Status s = co_await svc.index->DeleteBucketConfig(ctx.bucket, name);
    if (s.code() != Err::kNotFound) SLUICE_CO_RETURN_IF_ERROR(s);
  }
  co_return Status::Ok();
}

}  // namespace

Task<Status> PutPublicAccessBlock(Ctx& ctx) {
  SLUICE_CO_RETURN_IF_ERROR((co_await ctx.svc.index->GetBucket(ctx.bucket)).status());
  SLUICE_CO_ASSIGN_OR_RETURN(pugi::xml_document doc,
                             co_await ReadXmlBody(ctx, "PublicAccessBlockConfiguration"));
  bool flags[4] = {false, false, false, false};
  for (size_t i = 0; i < 4; i++) {
    pugi::xml_node n = doc.document_element().child(std::string(kBlockFields[i]).c_str());
    if (!n) continue;  // an absent setting is false, as in S3
    std::string_view v = Trim(n.text().as_string());
    if (v != "true" && v != "false")
      co_return Error(Err::kMalformedXML, std::string(kBlockFields[i]) + " must be true or false");
    flags[i] = v == "true";
  }
  PublicAccessBlock b{flags[0], flags[1], flags[2], flags[3]};
  SLUICE_CO_RETURN_IF_ERROR(
      co_await StoreConfig(ctx, kPublicAccessBlockConfig, EncodePublicAccessBlock(b)));
  co_return co_await SendEmpty(ctx, 200);
}

Task<Status> GetPublicAccessBlock(Ctx& ctx) {
  SLUICE_CO_RETURN_IF_ERROR((co_await ctx.svc.index->GetBucket(ctx.bucket)).status());
  auto stored = co_await ctx.svc.index->GetBucketConfig(ctx.bucket, kPublicAccessBlockConfig);
  if (stored.status().code() == Err::kNotFound)
    co_return Error(Err::kNoSuchPublicAccessBlockConfiguration, "");
  SLUICE_CO_RETURN_IF_ERROR(stored.status());
  auto b = DecodePublicAccessBlock(*stored);
  if (!b) co_return Error(Err::kCorruption, "stored public access block: " + *stored);
  XmlDoc out("PublicAccessBlockConfiguration");
  out.root()
      .AddBool("BlockPublicAcls", b->block_public_acls)
      .AddBool("IgnorePublicAcls", b->ignore_public_acls)
      .AddBool("BlockPublicPolicy", b->block_public_policy)
      .AddBool("RestrictPublicBuckets", b->restrict_public_buckets);
  co_return co_await SendXml(ctx, out);
}

Task<Status> DeletePublicAccessBlock(Ctx& ctx) {
  SLUICE_CO_RETURN_IF_ERROR((co_await ctx.svc.index->GetBucket(ctx.bucket)).status());
  SLUICE_CO_RETURN_IF_ERROR(co_await StoreConfig(ctx, kPublicAccessBlockConfig, std::nullopt));
  co_return co_await SendEmpty(ctx, 204);
}

Task<Status> PutBucketOwnershipControls(Ctx& ctx) {
  SLUICE_CO_RETURN_IF_ERROR((co_await ctx.svc.index->GetBucket(ctx.bucket)).status());
  SLUICE_CO_ASSIGN_OR_RETURN(pugi::xml_document doc,
                             co_await ReadXmlBody(ctx, "OwnershipControls"));
  auto rules = doc.document_element().children("Rule");
  if (std::distance(rules.begin(), rules.end()) != 1)
    co_return Error(Err::kMalformedXML, "OwnershipControls takes exactly one Rule");
  std::string ownership(
      Trim(doc.document_element().child("Rule").child("ObjectOwnership").text().as_string()));
  if (!IsObjectOwnership(ownership))
    co_return Error(
        Err::kMalformedXML,
        "ObjectOwnership must be BucketOwnerEnforced, BucketOwnerPreferred or ObjectWriter");
  if (ownership == "BucketOwnerEnforced") {
    // S3 refuses to disable ACLs while the bucket's own ACL grants anything beyond the owner.
    auto acl = co_await ctx.svc.index->GetBucketConfig(ctx.bucket, "acl");
    if (acl.ok() && !acl->empty()) co_return Error(Err::kInvalidBucketAclWithObjectOwnership, "");
  }
  SLUICE_CO_RETURN_IF_ERROR(co_await StoreConfig(ctx, kOwnershipConfig, ownership));
  co_return co_await SendEmpty(ctx, 200);
}

Task<Status> GetBucketOwnershipControls(Ctx& ctx) {
  SLUICE_CO_RETURN_IF_ERROR((co_await ctx.svc.index->GetBucket(ctx.bucket)).status());
  auto stored = co_await ctx.svc.index->GetBucketConfig(ctx.bucket, kOwnershipConfig);
  if (stored.status().code() == Err::kNotFound)
    co_return Error(Err::kOwnershipControlsNotFound, "");
  SLUICE_CO_RETURN_IF_ERROR(stored.status());
  XmlDoc out("OwnershipControls");
  out.root().Child("Rule").Add("ObjectOwnership", *stored);
  co_return co_await SendXml(ctx, out);
}

Task<Status> DeleteBucketOwnershipControls(Ctx& ctx) {
  SLUICE_CO_RETURN_IF_ERROR((co_await ctx.svc.index->GetBucket(ctx.bucket)).status());
  SLUICE_CO_RETURN_IF_ERROR(co_await StoreConfig(ctx, kOwnershipConfig, std::nullopt));
  co_return co_await SendEmpty(ctx, 204);
}

}  // namespace sluice::s3::ops
