// Object Lock: Put/GetObjectLockConfiguration (a bucket's switch and default retention),
// Put/GetObjectRetention and Put/GetObjectLegalHold (one version's). The rules themselves
// (what may be shortened, what blocks a delete) live in meta::Index, so every path that
// removes a version obeys them.
#include "common/strings.h"
#include "s3/authz.h"
#include "s3/ops/ops.h"
#include "s3/payload.h"
#include "s3/respond.h"
#include "s3/versions.h"

namespace sluice::s3::ops {
namespace {

// Reads the request body as an XML document whose root is `root`.
Task<Status> ReadXml(Ctx& ctx, const char* root, pugi::xml_document* doc) {
  SLUICE_CO_ASSIGN_OR_RETURN(auto payload, Payload::Open(ctx));
  SLUICE_CO_ASSIGN_OR_RETURN(std::string body,
                             co_await payload->ReadAll(kMaxXmlBody, Err::kMalformedXML));
  co_return ParseXml(body, root, doc);
}

Status RequireLock(const meta::BucketInfo& b) {
  if (!b.lock.enabled)
    return Error(Err::kInvalidRequest, "Bucket is missing Object Lock Configuration");
  return Status::Ok();
}

Result<uint32_t> PositiveCount(const pugi::xml_node& n, const char* name) {
  auto v = ParseUint(Trim(ChildText(n, name)));
  if (!v || *v == 0 || *v > 36500)
    return Error(Err::kInvalidArgument,
                 "Default retention period must be a positive integer value");
  return static_cast<uint32_t>(*v);
}

}  // namespace

Task<Status> PutObjectLockConfiguration(Ctx& ctx) {
  SLUICE_CO_RETURN_IF_ERROR((co_await ctx.svc.index->GetBucket(ctx.bucket)).status());
  pugi::xml_document doc;
  SLUICE_CO_RETURN_IF_ERROR(co_await ReadXml(ctx, "ObjectLockConfiguration", &doc));
  pugi::xml_node root = doc.document_element();
  if (ChildText(root, "ObjectLockEnabled") != "Enabled")
    co_return Error(Err::kMalformedXML, "ObjectLockEnabled must be Enabled");
  meta::ObjectLockConfig lock;
  lock.enabled = true;
  if (pugi::xml_node rule = root.child("Rule")) {
    pugi::xml_node def = rule.child("DefaultRetention");
    if (!def) co_return Error(Err::kMalformedXML, "a Rule needs a DefaultRetention");
    lock.default_mode = ChildText(def, "Mode");
    if (lock.default_mode != "GOVERNANCE" && lock.default_mode != "COMPLIANCE")
      co_return Error(Err::kMalformedXML, "Mode must be GOVERNANCE or COMPLIANCE");
    const bool days = def.child("Days") != nullptr, years = def.child("Years") != nullptr;
    if (days == years)
      co_return Error(Err::kMalformedXML, "a DefaultRetention names Days or Years");
    if (days) {
      SLUICE_CO_ASSIGN_OR_RETURN(lock.default_days, PositiveCount(def, "Days"));
    } else {
      SLUICE_CO_ASSIGN_OR_RETURN(lock.default_years, PositiveCount(def, "Years"));
    }
  }
  SLUICE_CO_RETURN_IF_ERROR(co_await ctx.svc.index->SetBucketObjectLock(ctx.bucket, lock));
  co_return co_await SendEmpty(ctx, 200);
}

Task<Status> GetObjectLockConfiguration(Ctx& ctx) {
  SLUICE_CO_ASSIGN_OR_RETURN(meta::BucketInfo b, co_await ctx.svc.index->GetBucket(ctx.bucket));
  if (!b.lock.enabled)
    co_return Error(Err::kObjectLockConfigurationNotFound,
                    "Object Lock configuration does not exist for this bucket");
  XmlDoc doc("ObjectLockConfiguration");
  doc.root().Add("ObjectLockEnabled", "Enabled");
  if (!b.lock.default_mode.empty()) {
    XmlNode def = doc.root().Child("Rule").Child("DefaultRetention");
    def.Add("Mode", b.lock.default_mode);
    if (b.lock.default_days)
      def.Add("Days", b.lock.default_days);
    else
      def.Add("Years", b.lock.default_years);
  }
  co_return co_await SendXml(ctx, doc);
}

// <Retention><Mode/><RetainUntilDate/></Retention>; an empty one removes the retention.
Task<Status> PutObjectRetention(Ctx& ctx) {
  const Services& svc = ctx.svc;
  SLUICE_CO_ASSIGN_OR_RETURN(meta::BucketInfo b, co_await svc.index->GetBucket(ctx.bucket));
  SLUICE_CO_RETURN_IF_ERROR(RequireLock(b));
  pugi::xml_document doc;
  SLUICE_CO_RETURN_IF_ERROR(co_await ReadXml(ctx, "Retention", &doc));
  pugi::xml_node root = doc.document_element();
  meta::Retention r;
  r.mode = ChildText(root, "Mode");
  std::string date = ChildText(root, "RetainUntilDate");
  const int64_t now = svc.clock->NowMicros();
  if (!r.mode.empty() || !date.empty()) {
    if (r.mode != "GOVERNANCE" && r.mode != "COMPLIANCE")
      co_return Error(Err::kMalformedXML, "Mode must be GOVERNANCE or COMPLIANCE");
    auto until = ParseIso8601(Trim(date));
    if (!until) co_return Error(Err::kMalformedXML, "RetainUntilDate must be an ISO 8601 date");
    if (*until <= now)
      co_return Error(Err::kInvalidArgument, "The retain until date must be in the future!");
    r.until_micros = *until;
  }
  SLUICE_CO_ASSIGN_OR_RETURN(meta::ObjectMeta m, co_await ReadObjectVersion(ctx));
  const bool bypass = co_await BypassGovernance(ctx);
  SLUICE_CO_RETURN_IF_ERROR(co_await svc.index->SetObjectRetention(
      ctx.bucket, ctx.key, ChangeTarget(ctx, m), r, bypass, now));
  http::ResponseHead head;
  AddVersionHeader(head, m.version);
  co_return co_await SendEmpty(ctx, 200, std::move(head));
}

Task<Status> GetObjectRetention(Ctx& ctx) {
  SLUICE_CO_ASSIGN_OR_RETURN(meta::BucketInfo b, co_await ctx.svc.index->GetBucket(ctx.bucket));
  SLUICE_CO_RETURN_IF_ERROR(RequireLock(b));
  SLUICE_CO_ASSIGN_OR_RETURN(meta::ObjectMeta m, co_await ReadObjectVersion(ctx));
  if (m.retention.mode.empty()) co_return Error(Err::kNoSuchObjectLockConfiguration, "");
  XmlDoc doc("Retention");
  doc.root()
      .Add("Mode", m.retention.mode)
      .Add("RetainUntilDate", FormatIso8601(m.retention.until_micros));
  co_return co_await SendXml(ctx, doc);
}

Task<Status> PutObjectLegalHold(Ctx& ctx) {
  const Services& svc = ctx.svc;
  SLUICE_CO_ASSIGN_OR_RETURN(meta::BucketInfo b, co_await svc.index->GetBucket(ctx.bucket));
  SLUICE_CO_RETURN_IF_ERROR(RequireLock(b));
  pugi::xml_document doc;
  SLUICE_CO_RETURN_IF_ERROR(co_await ReadXml(ctx, "LegalHold", &doc));
  std::string status = ChildText(doc.document_element(), "Status");
  if (status != "ON" && status != "OFF")
    co_return Error(Err::kMalformedXML, "Status must be ON or OFF");
  SLUICE_CO_ASSIGN_OR_RETURN(meta::ObjectMeta m, co_await ReadObjectVersion(ctx));
  SLUICE_CO_RETURN_IF_ERROR(co_await svc.index->SetObjectLegalHold(
      ctx.bucket, ctx.key, ChangeTarget(ctx, m), status == "ON"));
  http::ResponseHead head;
  AddVersionHeader(head, m.version);
  co_return co_await SendEmpty(ctx, 200, std::move(head));
}

Task<Status> GetObjectLegalHold(Ctx& ctx) {
  SLUICE_CO_ASSIGN_OR_RETURN(meta::BucketInfo b, co_await ctx.svc.index->GetBucket(ctx.bucket));
  SLUICE_CO_RETURN_IF_ERROR(RequireLock(b));
  SLUICE_CO_ASSIGN_OR_RETURN(meta::ObjectMeta m, co_await ReadObjectVersion(ctx));
  XmlDoc doc("LegalHold");
  doc.root().Add("Status", m.legal_hold ? "ON" : "OFF");
  co_return co_await SendXml(ctx, doc);
}

}  // namespace sluice::s3::ops
