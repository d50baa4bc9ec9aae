// DeleteObjects (POST /bucket?delete): up to 1000 keys, each with an optional version id;
// quiet mode.
#include "common/strings.h"
#include "s3/authz.h"
#include "s3/error_table.h"
#include "s3/object_io.h"
#include "s3/ops/ops.h"
#include "s3/payload.h"
#include "s3/replication.h"
#include "s3/respond.h"
#include "s3/router.h"
#include "s3/versions.h"

namespace sluice::s3::ops {

Task<Status> DeleteObjects(Ctx& ctx) {
  const Services& svc = ctx.svc;
  SLUICE_CO_RETURN_IF_ERROR((co_await svc.index->GetBucket(ctx.bucket)).status());
  SLUICE_CO_ASSIGN_OR_RETURN(auto payload, Payload::Open(ctx));
  SLUICE_CO_ASSIGN_OR_RETURN(std::string body,
                             co_await payload->ReadAll(kMaxXmlBody, Err::kMalformedXML));
  pugi::xml_document doc;
  SLUICE_CO_RETURN_IF_ERROR(ParseXml(body, "Delete", &doc));
  auto root = doc.document_element();
  bool quiet = std::string_view(root.child("Quiet").text().as_string()) == "true";
  struct Outcome {
    std::string key;
    std::string version;  // as the request named it
    Status status;
    meta::WriteResult done;
  };
  std::vector<Outcome> outcomes;
  for (auto o : root.children("Object")) {
    if (!o.child("Key")) co_return Error(Err::kMalformedXML, "every <Object> needs a <Key>");
    Outcome out{o.child("Key").text().as_string(), {}, Status::Ok(), {}};
    if (o.child("VersionId")) out.version = o.child("VersionId").text().as_string();
    outcomes.push_back(std::move(out));
  }
  if (outcomes.empty() || outcomes.size() > 1000)
    co_return Error(Err::kMalformedXML, "a Delete request names 1 to 1000 objects");

  std::vector<std::string> released;
  const int64_t now = svc.clock->NowMicros();
  const bool bypass = co_await BypassGovernance(ctx);
  {
    for (auto& o : outcomes) {
      auto key = ParseObjectKey(o.key);
      if (!key.ok()) {
        o.status = key.status();
        continue;
      }
      VersionId version;
      if (!o.version.empty()) {
        auto v = VersionId::Parse(o.version);
        if (!v.ok()) {
          o.status = v.status();
          continue;
        }
        version = *v;
      }
      // Per key, as in S3.
      const std::string_view action =
          version.empty() ? "s3:DeleteObject" : "s3:DeleteObjectVersion";
      o.status = co_await Require(ctx, action, ctx.bucket, *key);
      if (!o.status.ok()) continue;
      meta::DeleteRequest request{version, NewVersionStamp(svc, now), now, bypass};
      request.replicate_marker =
          ReplicatesMarker(ctx.access ? ctx.access->replication.get() : nullptr, key->str());
      auto r = co_await svc.index->DeleteObject(ctx.bucket, *key, request, &released);
      if (r.ok())
        o.done = *r;
      else
        o.status = r.status();
    }
  }
  ReleaseData(svc, std::move(released));

  XmlDoc out("DeleteResult");
  for (const auto& o : outcomes) {
    if (o.status.ok()) {
      // The audit record names every key deleted, a line each (at most 1,000 per request).
      if (!ctx.audit_detail.empty()) ctx.audit_detail += '\n';
      ctx.audit_detail += o.version.empty() ? o.key : o.key + "?versionId=" + o.version;
      if (quiet) continue;
      XmlNode d = out.root().Child("Deleted");
      d.Add("Key", o.key);
      if (!o.version.empty()) d.Add("VersionId", o.version);
      if (o.done.delete_marker) {
        d.AddBool("DeleteMarker", true);
        d.Add("DeleteMarkerVersionId", o.done.version.ToString());
      }
    } else {
      const S3Error& e = LookupError(o.status.code());
      XmlNode err = out.root().Child("Error");
      err.Add("Key", o.key);
      if (!o.version.empty()) err.Add("VersionId", o.version);
      err.Add("Code", e.code)
          .Add("Message", o.status.message().empty() ? e.message : o.status.message());
    }
  }
  co_return co_await SendXml(ctx, out);
}

}  // namespace sluice::s3::ops
