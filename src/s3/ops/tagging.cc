// PutObjectTagging, GetObjectTagging, DeleteObjectTagging.
#include <algorithm>

#include "s3/authz.h"
#include "s3/headers.h"
#include "s3/ops/ops.h"
#include "s3/payload.h"
#include "s3/respond.h"
#include "s3/versions.h"

namespace sluice::s3::ops {

Task<Status> PutObjectTagging(Ctx& ctx) {
  const Services& svc = ctx.svc;
  SLUICE_CO_RETURN_IF_ERROR((co_await svc.index->GetBucket(ctx.bucket)).status());
  SLUICE_CO_ASSIGN_OR_RETURN(auto payload, Payload::Open(ctx));
  SLUICE_CO_ASSIGN_OR_RETURN(std::string body,
                             co_await payload->ReadAll(kMaxXmlBody, Err::kMalformedXML));
  pugi::xml_document doc;
  SLUICE_CO_RETURN_IF_ERROR(ParseXml(body, "Tagging", &doc));
  meta::HeaderList tags;
  for (auto t : doc.document_element().child("TagSet").children("Tag")) {
    if (!t.child("Key")) co_return Error(Err::kMalformedXML, "every <Tag> needs a <Key>");
    tags.emplace_back(t.child("Key").text().as_string(), t.child("Value").text().as_string());
  }
  SLUICE_CO_RETURN_IF_ERROR(ValidateTags(tags));
  // Authorized here, not before the body: s3:RequestObjectTag conditions test these tags.
  ctx.request_tags = tags;
  const std::string_view action =
      ctx.version.empty() ? "s3:PutObjectTagging" : "s3:PutObjectVersionTagging";
  SLUICE_CO_RETURN_IF_ERROR(co_await Require(ctx, action, ctx.bucket, ctx.key));
  SLUICE_CO_ASSIGN_OR_RETURN(meta::ObjectMeta m, co_await ReadObjectVersion(ctx));
  SLUICE_CO_RETURN_IF_ERROR(
      co_await svc.index->SetObjectTags(ctx.bucket, ctx.key, ChangeTarget(ctx, m), tags));
  http::ResponseHead head;
  AddVersionHeader(head, m.version);
  co_return co_await SendEmpty(ctx, 200, std::move(head));
}

Task<Status> GetObjectTagging(Ctx& ctx) {
  SLUICE_CO_ASSIGN_OR_RETURN(meta::ObjectMeta m, co_await ReadObjectVersion(ctx));
  XmlDoc doc("Tagging");
  XmlNode set = doc.root().Child("TagSet");
  meta::HeaderList tags = m.tags;  // in key order, as S3 returns them
  std::sort(tags.begin(), tags.end());
  for (const auto& [k, v] : tags) set.Child("Tag").Add("Key", k).Add("Value", v);
  http::ResponseHead head;
  AddVersionHeader(head, m.version);
  co_return co_await SendXml(ctx, doc, std::move(head));
}

Task<Status> DeleteObjectTagging(Ctx& ctx) {
  const Services& svc = ctx.svc;
  SLUICE_CO_ASSIGN_OR_RETURN(meta::ObjectMeta m, co_await ReadObjectVersion(ctx));
  SLUICE_CO_RETURN_IF_ERROR(co_await svc.index->SetObjectTags(
      ctx.bucket, ctx.key, ChangeTarget(ctx, m), meta::HeaderList()));
  http::ResponseHead head;
  AddVersionHeader(head, m.version);
  co_return co_await SendEmpty(ctx, 204, std::move(head));
}

}  // namespace sluice::s3::ops
