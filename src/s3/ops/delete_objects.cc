// DeleteObjects (POST /bucket?delete): up to 1000 keys, quiet mode.
#include "common/strings.h"
#include "s3/object_io.h"
#include "s3/authz.h"
#include "s3/ops/ops.h"
#include "s3/payload.h"
#include "s3/respond.h"
#include "s3/error_table.h"
#include "s3/router.h"

namespace sluice::s3::ops {

Task<Status> DeleteObjects(Ctx& ctx) {
  const Services& svc = ctx.svc;
  SLUICE_CO_RETURN_IF_ERROR(svc.index->GetBucket(ctx.bucket).status());
  SLUICE_CO_ASSIGN_OR_RETURN(auto payload, Payload::Open(ctx));
  SLUICE_CO_ASSIGN_OR_RETURN(std::string body,
                             co_await payload->ReadAll(kMaxXmlBody, Err::kMalformedXML));
  pugi::xml_document doc;
  SLUICE_CO_RETURN_IF_ERROR(ParseXml(body, "Delete", &doc));
  auto root = doc.document_element();
  bool quiet = std::string_view(root.child("Quiet").text().as_string()) == "true";
  std::vector<std::string> keys;
  for (auto o : root.children("Object")) {
    if (!o.child("Key")) co_return Error(Err::kMalformedXML, "every <Object> needs a <Key>");
    keys.emplace_back(o.child("Key").text().as_string());
  }
  if (keys.empty() || keys.size() > 1000)
    co_return Error(Err::kMalformedXML, "a Delete request names 1 to 1000 objects");

  struct Outcome {
    std::string key;
    Status status;
  };
  std::vector<Outcome> outcomes;
  std::vector<std::string> released;
  co_await Offload(*svc.blocking, [&] {
    for (const auto& k : keys) {
      Status s = ValidateKey(k);
      if (s.ok()) s = Require(ctx, "s3:DeleteObject", ctx.bucket, k);  // per key, as in S3
      if (s.ok()) s = svc.index->DeleteObject(ctx.bucket, k, &released);
      outcomes.push_back({k, std::move(s)});
    }
    return 0;
  });
  ReleaseData(svc, std::move(released));

  XmlDoc out("DeleteResult");
  for (const auto& o : outcomes) {
    if (o.status.ok()) {
      if (!quiet) out.root().Child("Deleted").Add("Key", o.key);
    } else {
      const S3Error& e = LookupError(o.status.code());
      out.root().Child("Error").Add("Key", o.key).Add("Code", e.code).Add(
          "Message", o.status.message().empty() ? e.message : o.status.message());
    }
  }
  co_return co_await SendXml(ctx, out);
}

}  // namespace sluice::s3::ops
