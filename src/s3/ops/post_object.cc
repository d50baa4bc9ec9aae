// POST Object: a browser form upload (multipart/form-data) authorised by a signed policy
// document instead of a signed request. The fields before the file are read and checked
// (signature, policy conditions, key) before a byte of the file is stored.
#include <boost/beast/http/fields.hpp>

#include "auth/post_policy.h"
#include "common/strings.h"
#include "s3/authz.h"
#include "s3/form_reader.h"
#include "s3/headers.h"
#include "s3/object_io.h"
#include "s3/ops/ops.h"
#include "s3/parse.h"
#include "s3/payload.h"
#include "s3/replication.h"
#include "s3/respond.h"
#include "s3/router.h"
#include "s3/unsupported.h"
#include "s3/versions.h"

namespace sluice::s3::ops {
namespace {

// S3 caps the fields before the file at about 20 KB; a little more room here.
constexpr size_t kMaxFormFields = size_t{64} * 1024;

Result<meta::HeaderList> ParseTaggingXml(std::string_view xml) {
  pugi::xml_document doc;
  SLUICE_RETURN_IF_ERROR(ParseXml(xml, "Tagging", &doc));
  meta::HeaderList tags;
  for (auto t : doc.document_element().child("TagSet").children("Tag"))
    tags.emplace_back(t.child("Key").text().as_string(), t.child("Value").text().as_string());
  SLUICE_RETURN_IF_ERROR(ValidateTags(tags));
  return tags;
}

}  // namespace

Task<Status> PostObject(Ctx& ctx) {
  const Services& svc = ctx.svc;
  SLUICE_CO_ASSIGN_OR_RETURN(meta::BucketInfo bucket, co_await svc.index->GetBucket(ctx.bucket));
  if (!ctx.req.content_length && !ctx.req.chunked) co_return Error(Err::kMissingContentLength, "");
  SLUICE_CO_ASSIGN_OR_RETURN(std::string boundary, FormBoundary(ctx.req.header("content-type")));
  FormReader form(ctx.body, boundary);
  std::vector<std::pair<std::string, std::string>> sent;
  SLUICE_CO_RETURN_IF_ERROR(co_await form.ReadFields(&sent, kMaxFormFields));

  auth::FormFields fields;
  boost::beast::http::fields as_headers;  // the fields, for the header helpers PUT uses
  for (auto& [name, value] : sent) {
    std::string lower = ToLower(name);
    if (!fields.emplace(lower, value).second)
      co_return Error(Err::kInvalidArgument, "The form field " + name + " appears more than once.");
    if (lower != "policy" && lower != "key" && lower != "tagging")
      as_headers.insert(boost::beast::string_view(lower.data(), lower.size()),
                        boost::beast::string_view(value.data(), value.size()));
  }

  auto key = fields.find("key");
  if (key == fields.end())
    co_return Error(Err::kInvalidArgument,
                    "Bucket POST must contain a field named 'key'.  If it is specified, please "
                    "check the order of the fields.");
  // ${filename} is the file part's filename, substituted before the policy's conditions
  // are checked, as S3 does.
  if (size_t at = key->second.find("${filename}"); at != std::string::npos)
    key->second.replace(at, 11, form.filename());

  // Who signed, and whether the policy allows this form. A form with no signature and no
  // policy is anonymous: only a bucket policy (or a public-read-write ACL) can admit it.
  std::optional<std::pair<uint64_t, uint64_t>> length_range;
  const bool v4 = fields.count("x-amz-credential") || fields.count("x-amz-algorithm");
  const bool anonymous = !fields.count("policy") && !fields.count("x-amz-signature") &&
                         !fields.count("signature") && !fields.count("awsaccesskeyid") && !v4;
  if (!anonymous) {
    // A form that names a key or a policy but carries no signature is malformed (400), not
    // a failed signature (403).
    if (v4 && !fields.count("x-amz-signature"))
      co_return Error(Err::kInvalidArgument,
                      "Bucket POST must contain a field named 'X-Amz-Signature'.  If it is "
                      "specified, please check the order of the fields.");
    if (!v4 && !fields.count("signature"))
      co_return Error(Err::kInvalidArgument,
                      "Bucket POST must contain a field named 'Signature'.  If it is specified, "
                      "please check the order of the fields.");
    if (!fields.count("policy"))
      co_return Error(Err::kInvalidArgument,
                      "Bucket POST must contain a field named 'Policy'.  If it is specified, "
                      "please check the order of the fields.");
    SLUICE_CO_ASSIGN_OR_RETURN(auth::Credential cred,
                               auth::VerifyPostSignature(fields, svc.credentials));
    // Temporary credentials: the form must carry the session token, and the session must
    // not have expired, as for any other request.
    std::string token = fields.count("x-amz-security-token") ? fields["x-amz-security-token"] : "";
    auth::RequestView as_form{"POST", "/", "",
                              [&token](std::string_view n) {
                                return n == "x-amz-security-token" ? std::string_view(token)
                                                                   : std::string_view();
                              },
                              nullptr};
    SLUICE_CO_RETURN_IF_ERROR(auth::CheckSessionToken(as_form, cred, svc.clock->NowMicros()));
    ctx.auth.credential = std::move(cred);
    SLUICE_CO_ASSIGN_OR_RETURN(auth::PostPolicy policy, auth::ParsePostPolicy(fields["policy"]));
    SLUICE_CO_ASSIGN_OR_RETURN(
        length_range, auth::CheckPostPolicy(policy, fields, ctx.bucket, svc.clock->NowMicros()));
  }

  if (key->second.empty())
    co_return Error(Err::kInvalidArgument, "User key must have a length greater than 0.");
  SLUICE_CO_ASSIGN_OR_RETURN(ctx.key, ParseObjectKey(key->second));
  SLUICE_CO_RETURN_IF_ERROR(co_await Require(ctx, "s3:PutObject", ctx.bucket, ctx.key));
  for (const auto& [name, value] : fields)  // a field asking for a missing feature: 501
    SLUICE_CO_RETURN_IF_ERROR(CheckRequestField(name, value));

  http::Request synthetic(as_headers, "POST", "/");
  meta::ObjectMeta m;
  SLUICE_CO_RETURN_IF_ERROR(
      ExtractObjectFields(synthetic, svc.limits, &m.content_type, &m.headers, &m.tags));
  SLUICE_CO_ASSIGN_OR_RETURN(m.acl, ParseCannedAcl(synthetic, ctx.auth.credential.owner_id));
  SLUICE_CO_RETURN_IF_ERROR(
      ObjectLockForWrite(synthetic, bucket, svc.clock->NowMicros(), &m.retention, &m.legal_hold));
  if (!m.acl.empty()) SLUICE_CO_RETURN_IF_ERROR(co_await CheckAclWrite(ctx, ctx.bucket, m.acl));
  if (m.content_type.empty() && !form.file_content_type().empty())
    m.content_type = form.file_content_type();
  if (auto t = fields.find("tagging"); t != fields.end()) {
    SLUICE_CO_ASSIGN_OR_RETURN(m.tags, ParseTaggingXml(t->second));
  }
  int status = 204;
  if (auto s = fields.find("success_action_status"); s != fields.end()) {
    if (s->second == "200" || s->second == "201") status = s->second == "200" ? 200 : 201;
  }
  std::string redirect;
  if (auto r = fields.find("success_action_redirect"); r != fields.end())
    redirect = r->second;
  else if (auto r2 = fields.find("redirect"); r2 != fields.end())
    redirect = r2->second;

  uint64_t max = svc.limits.max_object_size;
  if (length_range) max = std::min(max, length_range->second);
  // The bucket's default encryption (s3/sse.h); the form's own encryption fields are
  // refused above (501).
  SLUICE_CO_ASSIGN_OR_RETURN(SseRequest sse, co_await WriteEncryption(ctx));
  std::optional<std::pair<SseRecord, std::string>> enc;
  if (sse.mode != SseMode::kNone) {
    SLUICE_CO_ASSIGN_OR_RETURN(auto made, NewObjectKey(sse, svc.sse_keys, svc.random));
    enc.emplace(std::move(made));
  }
  auto payload = Payload::OfFormFile(form);
  const UploadId no_upload;
  const std::string* encrypt_key = nullptr;  // (no ?: inside a co_await: GCC 12)
  if (enc) encrypt_key = &enc->second;
  auto stored = co_await StoreBody(ctx, *payload, false, max, no_upload, nullptr, encrypt_key);
  if (!stored.ok()) {
    if (stored.status().code() == Err::kEntityTooLarge)
      co_return Error(Err::kEntityTooLarge,
                      "Your proposed upload exceeds the maximum allowed size");
    co_return stored.status();
  }
  if (length_range && stored->size < length_range->first)
    co_return Error(Err::kEntityTooSmall,
                    "Your proposed upload is smaller than the minimum allowed size");
  std::vector<std::string> new_ids;
  const int64_t now = svc.clock->NowMicros();
  AttachStored(*stored, now, &m, &new_ids);
  if (enc) m.encryption = enc->first.Encode();
  m.version = NewVersionStamp(svc, now);
  MarkForReplication(ctx.access ? ctx.access->replication.get() : nullptr, ctx.key.str(), &m);
  std::vector<std::string> released;
  const meta::WriteCondition
      unconditional;  // (no braced temporary in a co_await: GCC 12 frees it twice)
  auto written = co_await svc.index->PutObject(ctx.bucket, ctx.key, m, unconditional, &released);
  SLUICE_CO_RETURN_IF_ERROR(SettleWrite(svc, new_ids, written.status(), std::move(released)));

  std::string location = "/" + ctx.bucket.str() + "/" + UriEncode(ctx.key, false);
  http::ResponseHead head;
  head.Set("ETag", QuoteEtag(m.etag));
  AddVersionHeader(head, written->version);
  if (enc) head.Set("x-amz-server-side-encryption", "AES256");
  if (!redirect.empty() && (redirect.starts_with("http://") || redirect.starts_with("https://"))) {
    std::string to = redirect + (redirect.find('?') == std::string::npos ? "?" : "&") +
                     "bucket=" + UriEncode(ctx.bucket, true) + "&key=" + UriEncode(ctx.key, true) +
                     "&etag=" + UriEncode(QuoteEtag(m.etag), true);
    head.Set("Location", to);
    co_return co_await SendEmpty(ctx, 303, std::move(head));
  }
  head.Set("Location", location);
  if (status == 201) {
    XmlDoc doc("PostResponse", false);
    doc.root()
        .Add("Location", location)
        .Add("Bucket", ctx.bucket)
        .Add("Key", ctx.key)
        .Add("ETag", QuoteEtag(m.etag));
    head.status = 201;
    head.Set("Content-Type", "application/xml");
    co_return co_await ctx.resp.Send(head, doc.Render());
  }
  co_return co_await SendEmpty(ctx, status, std::move(head));
}

}  // namespace sluice::s3::ops
