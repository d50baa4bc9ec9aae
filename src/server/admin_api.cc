#include "server/admin_api.h"

#include <spdlog/spdlog.h>

#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/hash.h"
#include "common/strings.h"
#include "s3/error_table.h"
#include "s3/replication.h"
#include "s3/xml.h"

namespace sluice::server {
namespace {

using nlohmann::json;

constexpr size_t kMaxAdminBody = size_t{1024} * 1024;  // a target's CA bundle fits

Task<Result<std::string>> ReadBody(http::Body& body, size_t limit) {
  std::string out;
  char buf[16384];
  for (;;) {
    auto n = co_await body.Read(buf, sizeof buf);
    if (!n.ok()) co_return n.status();
    if (*n == 0) break;
    out.append(buf, *n);
    if (out.size() > limit) co_return Error(Err::kEntityTooLarge, "the request body is too large");
  }
  co_return out;
}

std::vector<std::string> SplitPath(std::string_view p) {
  std::vector<std::string> out;
  while (!p.empty()) {
    size_t slash = p.find('/');
    std::string_view seg = p.substr(0, slash);
    if (!seg.empty()) out.push_back(UriDecode(seg).value_or(std::string(seg)));
    if (slash == std::string_view::npos) break;
    p.remove_prefix(slash + 1);
  }
  return out;
}

Task<void> SendJson(http::Responder& resp, int status, const json& j) {
  http::ResponseHead head;
  head.status = status;
  head.Set("Content-Type", "application/json");
  (co_await resp.Send(head, j.dump(2) + "\n")).IgnoreError();
}

json UserJson(const auth::UserInfo& u) {
  return {{"name", u.name},
          {"admin", u.admin},
          {"policies", u.policies},
          {"keys", u.keys},
          {"created", FormatIso8601(u.created_micros)}};
}

json KeyJson(const auth::KeyInfo& k) {
  return {{"access_key", k.access_key},
          {"user", k.user},
          {"enabled", k.enabled},
          {"created", FormatIso8601(k.created_micros)}};
}

json PolicyJson(const auth::PolicyInfo& p) {
  json doc = json::parse(p.document, nullptr, false);
  return {{"name", p.name},
          {"document", doc.is_discarded() ? json(p.document) : doc},
          {"users", p.users}};
}

// The STS query protocol's error codes for the domain errors AssumeRole can meet.
std::pair<int, std::string_view> StsError(Err e) {
  switch (e) {
    case Err::kInvalidAccessKeyId:
      return {403, "InvalidClientTokenId"};
    case Err::kInvalidToken:
      return {403, "InvalidClientTokenId"};
    case Err::kExpiredToken:
      return {400, "ExpiredToken"};
    case Err::kSignatureDoesNotMatch:
      return {403, "SignatureDoesNotMatch"};
    case Err::kRequestTimeTooSkewed:
      return {403, "RequestExpired"};
    case Err::kAccessDenied:
      return {403, "AccessDenied"};
    case Err::kMalformedPolicy:
      return {400, "MalformedPolicyDocument"};
    case Err::kInvalidArgument:
    case Err::kInvalidRequest:
    case Err::kAuthorizationHeaderMalformed:
    case Err::kNoSuchUser:
    case Err::kEntityTooLarge:
      return {400, "ValidationError"};
    case Err::kNotImplemented:
      return {400, "InvalidAction"};
    default:
      return {500, "InternalFailure"};
  }
}

}  // namespace

bool AdminApi::IsAdminRequest(const http::Request& req) {
  return req.path().starts_with(kAdminPrefix) ||
         req.path() == kAdminPrefix.substr(0, kAdminPrefix.size() - 1);
}

bool AdminApi::IsStsRequest(const http::Request& req) {
  if (req.method() != "POST" || req.path() != "/") return false;
  bool in_query = false;
  FindQueryParam(req.query(), "Action", &in_query);
  return in_query ||
         StartsWithIgnoreCase(req.header("content-type"), "application/x-www-form-urlencoded");
}

Result<auth::AuthResult> AdminApi::Authenticate(const http::Request& req, const std::string& body,
                                                const auth::SigV4Verifier& verifier) const {
  std::string sha = Sha256Hex(body);
  std::string_view declared = req.header("x-amz-content-sha256");
  if (!declared.empty() && declared != "UNSIGNED-PAYLOAD" && ToLower(declared) != sha)
    return Error(Err::kContentSha256Mismatch, "");
  auth::RequestView view{req.method(),
                         req.path(),
                         req.query(),
                         [&](std::string_view n) { return req.header(n); },
                         [&](std::map<std::string, std::string>*) {},
                         sha};
  if (!auth::SigV4Verifier::HasAuth(view))
    return Error(Err::kAccessDenied, "the admin API needs a SigV4-signed request");
  auth::AuthFailureDetails details;
  return verifier.Verify(view, &details);
}

// One admin operation; runs on the blocking pool (IAM changes are synced writes).
Result<json> AdminApi::Dispatch(std::string_view m, const std::vector<std::string>& seg,
                                const std::string& text) {
  json in;
  if (!text.empty() && !(seg.size() == 2 && seg[0] == "policies")) {
    in = json::parse(text, nullptr, false);
    if (in.is_discarded()) return Error(Err::kInvalidArgument, "the request body is not JSON");
  }
  auto done = [](const Status& st) -> Result<json> {
    SLUICE_RETURN_IF_ERROR(st);
    return json{{"ok", true}};
  };
  // users[/NAME[/keys | /policies/POLICY]]
  if (!seg.empty() && seg[0] == "users") {
    if (seg.size() == 1 && m == "GET") {
      json list = json::array();
      for (const auto& u : iam_->ListUsers()) list.push_back(UserJson(u));
      return json{{"users", list}};
    }
    if (seg.size() == 2) {
      if (m == "PUT") {
        bool admin = in.is_object() && in.value("admin", false);
        SLUICE_RETURN_IF_ERROR(iam_->CreateUser(seg[1], admin));
        SLUICE_ASSIGN_OR_RETURN(auto u, iam_->GetUser(seg[1]));
        return UserJson(u);
      }
      if (m == "GET") {
        SLUICE_ASSIGN_OR_RETURN(auto u, iam_->GetUser(seg[1]));
        return UserJson(u);
      }
      if (m == "DELETE") return done(iam_->DeleteUser(seg[1]));
    }
    if (seg.size() == 3 && seg[2] == "keys") {
      if (m == "POST") {
        SLUICE_ASSIGN_OR_RETURN(auto k, iam_->CreateKey(seg[1]));
        return json{{"access_key", k.access_key}, {"secret_key", k.secret_key}, {"user", seg[1]}};
      }
      if (m == "GET") {
        SLUICE_ASSIGN_OR_RETURN(auto keys, iam_->ListKeys(seg[1]));
        json list = json::array();
        for (const auto& k : keys) list.push_back(KeyJson(k));
        return json{{"keys", list}};
      }
    }
    if (seg.size() == 4 && seg[2] == "policies") {
      if (m == "PUT") return done(iam_->AttachPolicy(seg[1], seg[3]));
      if (m == "DELETE") return done(iam_->DetachPolicy(seg[1], seg[3]));
    }
  }
  // keys[/AK[/enable | /disable | /rotate]]
  if (!seg.empty() && seg[0] == "keys") {
    if (seg.size() == 1 && m == "GET") {
      SLUICE_ASSIGN_OR_RETURN(auto keys, iam_->ListKeys(""));
      json list = json::array();
      for (const auto& k : keys) list.push_back(KeyJson(k));
      return json{{"keys", list}};
    }
    if (seg.size() == 2 && m == "DELETE") return done(iam_->DeleteKey(seg[1]));
    if (seg.size() == 3 && m == "POST") {
      if (seg[2] == "enable" || seg[2] == "disable")
        return done(iam_->SetKeyEnabled(seg[1], seg[2] == "enable"));
      if (seg[2] == "rotate") {
        SLUICE_ASSIGN_OR_RETURN(auto k, iam_->RotateKey(seg[1]));
        return json{
            {"access_key", k.access_key}, {"secret_key", k.secret_key}, {"disabled", seg[1]}};
      }
    }
  }
  // policies[/NAME]
  if (!seg.empty() && seg[0] == "policies") {
    if (seg.size() == 1 && m == "GET") {
      json list = json::array();
      for (const auto& p : iam_->ListPolicies()) list.push_back(PolicyJson(p));
      return json{{"policies", list}};
    }
    if (seg.size() == 2) {
      if (m == "PUT") return done(iam_->PutPolicy(seg[1], text));
      if (m == "GET") {
        SLUICE_ASSIGN_OR_RETURN(auto p, iam_->GetPolicy(seg[1]));
        return PolicyJson(p);
      }
      if (m == "DELETE") return done(iam_->DeletePolicy(seg[1]));
    }
  }
  if (!seg.empty() && seg[0] == "snapshots" && index_) return Snapshots(m, seg, in);
  if (!seg.empty() && seg[0] == "replication" && targets_ && worker_ && index_)
    return Replication(m, seg, in);
  std::string path;
  for (const auto& x : seg) path += "/" + x;
  return Error(Err::kNotFound, "no admin operation " + std::string(m) + " " + path);
}

namespace {

json TargetJson(const ReplicationTargetInfo& t) {
  auto when = [](int64_t us) { return us ? json(FormatIso8601(us)) : json(nullptr); };
  return json{{"name", t.name},
              {"arn", t.arn},
              {"endpoint", t.endpoint},
              {"bucket", t.bucket},
              {"access_key", t.access_key},
              {"region", t.region},
              {"ca_bundle", t.has_ca_bundle},
              {"sluice", t.sluice},
              {"created", when(t.created_micros)},
              {"last_ok", when(t.last_ok_micros)},
              {"last_error_at", when(t.last_error_micros)},
              {"last_error", t.last_error},
              {"healthy", t.last_error_micros <= t.last_ok_micros}};
}

}  // namespace

// replication/targets: GET lists; replication/targets/NAME: PUT {"endpoint", "bucket",
// "access_key", "secret_key", "region", "ca_bundle"} adds (after checking it) or replaces,
// GET shows, DELETE removes. replication/status[/BUCKET]: GET the backlog, throughput,
// failures and targets' health. replication/resync/BUCKET: POST {"existing": bool} queues
// FAILED versions again (and, with existing, what was there before the rules).
Result<json> AdminApi::Replication(std::string_view m, const std::vector<std::string>& seg,
                                   const json& in) {
  if (seg.size() >= 2 && seg[1] == "targets") {
    if (seg.size() == 2 && m == "GET") {
      SLUICE_ASSIGN_OR_RETURN(auto list, targets_->List());
      json out = json::array();
      for (const auto& t : list) out.push_back(TargetJson(t));
      return json{{"targets", out}};
    }
    if (seg.size() == 3) {
      if (m == "PUT") {
        if (!in.is_object()) return Error(Err::kInvalidArgument, "the body is a JSON object");
        ReplicationTargetSpec spec;
        spec.name = seg[2];
        for (const auto& [field, dst] :
             std::vector<std::pair<const char*, std::string*>>{{"endpoint", &spec.endpoint},
                                                               {"bucket", &spec.bucket},
                                                               {"access_key", &spec.access_key},
                                                               {"secret_key", &spec.secret_key},
                                                               {"region", &spec.region},
                                                               {"ca_bundle", &spec.ca_bundle}}) {
          if (!in.contains(field)) continue;
          if (!in[field].is_string())
            return Error(Err::kInvalidArgument, std::string(field) + " is a string");
          *dst = in[field].get<std::string>();
        }
        SLUICE_ASSIGN_OR_RETURN(auto t, targets_->Add(spec));
        return TargetJson(t);
      }
      if (m == "GET") {
        SLUICE_ASSIGN_OR_RETURN(auto t, targets_->Get(seg[2]));
        return TargetJson(t);
      }
      if (m == "DELETE") {
        SLUICE_RETURN_IF_ERROR(targets_->Remove(seg[2]));
        return json{{"ok", true}};
      }
    }
    return Error(Err::kMethodNotAllowed, "");
  }
  if (seg.size() == 3 && seg[1] == "resync" && m == "POST") {
    SLUICE_ASSIGN_OR_RETURN(BucketName b, ParseBucketName(seg[2]));
    bool existing = in.is_object() && in.value("existing", false);
    SLUICE_ASSIGN_OR_RETURN(auto n, worker_->Resync(b, existing));
    return json{{"bucket", b.str()},
                {"failed", n.failed},
                {"existing", n.existing},
                {"skipped_unversioned", n.skipped}};
  }
  if ((seg.size() == 2 || seg.size() == 3) && seg[1] == "status" && m == "GET") {
    const int64_t now = clock_->NowMicros();
    json buckets = json::array();
    SLUICE_ASSIGN_OR_RETURN(auto all, index_->ListBuckets());
    for (const auto& b : all) {
      if (seg.size() == 3 && b.name.str() != seg[2]) continue;
      auto doc = index_->GetBucketConfig(b.name, s3::kReplicationConfig);
      if (!doc.ok()) continue;
      auto c = s3::ParseReplication(*doc);
      if (!c.ok() || c->rules.empty()) continue;
      const auto& r = c->rules.front();
      SLUICE_ASSIGN_OR_RETURN(auto backlog, worker_->Backlog(b.name));
      buckets.push_back(json{
          {"bucket", b.name.str()},
          {"destination", r.dest_target.empty()
                              ? "arn:aws:s3:::" + r.dest_bucket
                              : std::string(s3::kReplicationTargetArn) + r.dest_target},
          {"pending_objects", backlog.objects},
          {"pending_bytes", backlog.bytes},
          {"pending_bytes_partial", backlog.bytes_partial},
          {"oldest_pending_s", backlog.oldest_micros ? (now - backlog.oldest_micros) / 1e6 : 0.0}});
    }
    if (seg.size() == 3 && buckets.empty())
      return Error(Err::kNotFound, seg[2] + " has no replication configuration");
    json retrying = json::array();
    for (const auto& w : worker_->Waiting())
      if (seg.size() == 2 || w.bucket == seg[2])
        retrying.push_back(json{{"bucket", w.bucket},
                                {"key", w.key},
                                {"version", w.version},
                                {"attempts", w.attempts},
                                {"last_error", w.last_error},
                                {"next_attempt", FormatIso8601(w.next_attempt_micros)}});
    json failures = json::array();
    for (const auto& f : worker_->RecentFailures())
      if (seg.size() == 2 || f.bucket == seg[2])
        failures.push_back(json{{"bucket", f.bucket},
                                {"key", f.key},
                                {"version", f.version},
                                {"error", f.error},
                                {"at", FormatIso8601(f.when_micros)}});
    json targets = json::array();
    SLUICE_ASSIGN_OR_RETURN(auto list, targets_->List());
    for (const auto& t : list) targets.push_back(TargetJson(t));
    const s3::ReplicationStats totals = worker_->Totals();
    const auto [objects_s, bytes_s] = worker_->Throughput();
    return json{{"buckets", buckets},
                {"completed", totals.completed},
                {"completed_bytes", totals.bytes},
                {"failed", totals.failed},
                {"objects_per_s", objects_s},
                {"bytes_per_s", bytes_s},
                {"retrying", retrying},
                {"failures", failures},
                {"targets", targets}};
  }
  return Error(Err::kNotFound, "no such replication operation");
}

namespace {
json SnapshotJson(const meta::BucketInfo& b) {
  return json{
      {"name", b.name.str()}, {"bucket", b.snapshot_of}, {"created", FormatIso8601(b.snapshot_at)}};
}
}  // namespace

// snapshots: GET lists; snapshots/NAME: PUT {"bucket": SOURCE} creates, GET shows, DELETE
// removes (releasing the versions it held).
Result<json> AdminApi::Snapshots(std::string_view m, const std::vector<std::string>& seg,
                                 const json& in) {
  if (seg.size() == 1 && m == "GET") {
    SLUICE_ASSIGN_OR_RETURN(auto buckets, index_->ListBuckets());
    json list = json::array();
    for (const auto& b : buckets)
      if (!b.snapshot_of.empty()) list.push_back(SnapshotJson(b));
    return json{{"snapshots", list}};
  }
  if (seg.size() != 2) return Error(Err::kNotFound, "no such snapshot operation");
  SLUICE_ASSIGN_OR_RETURN(BucketName name, ParseBucketName(seg[1]));
  if (m == "PUT") {
    std::string source = in.is_object() ? in.value("bucket", "") : "";
    if (source.empty())
      return Error(Err::kInvalidArgument, "name the source: {\"bucket\": \"...\"}");
    SLUICE_ASSIGN_OR_RETURN(BucketName src, ParseBucketName(source));
    SLUICE_ASSIGN_OR_RETURN(meta::BucketInfo info, index_->GetBucket(src));
    SLUICE_RETURN_IF_ERROR(index_->CreateSnapshot(src, name, clock_->NowMicros(), info.owner));
    SLUICE_ASSIGN_OR_RETURN(meta::BucketInfo snap, index_->GetBucket(name));
    return SnapshotJson(snap);
  }
  if (m == "GET") {
    SLUICE_ASSIGN_OR_RETURN(meta::BucketInfo snap, index_->GetBucket(name));
    if (snap.snapshot_of.empty())
      return Error(Err::kNotFound, name.str() + " is a bucket, not a snapshot");
    return SnapshotJson(snap);
  }
  if (m == "DELETE") {
    SLUICE_RETURN_IF_ERROR(index_->DeleteSnapshot(name));
    return json{{"ok", true}};
  }
  return Error(Err::kMethodNotAllowed, "");
}

Task<void> AdminApi::HandleAdmin(http::Request& req, http::Body& body, http::Responder& resp) {
  Result<json> out = json();
  std::string principal = "anonymous", access_key;
  auto text = co_await ReadBody(body, kMaxAdminBody);
  if (!text.ok()) {
    out = text.status();
  } else if (auto auth = Authenticate(req, *text, s3_verifier_); !auth.ok()) {
    out = auth.status();
  } else {
    const auth::Identity& who = *auth->credential.identity;
    principal = who.arn;
    access_key = auth->credential.access_key;
    if (!who.admin || who.is_session()) {
      spdlog::info("admin API refused: {} (key {}) is not an admin", who.arn, access_key);
      out = Error(Err::kAccessDenied, "only root and admin users may use the admin API");
    } else {
      spdlog::info("admin: {} {} by {}", req.method(), req.path(), who.arn);
      std::vector<std::string> seg = SplitPath(req.path().substr(kAdminPrefix.size()));
      std::string method(req.method());
      out = co_await Offload(*blocking_, [&] { return Dispatch(method, seg, *text); });
    }
  }
  int status = 200;
  json reply;
  const bool failed = !out.ok();
  if (!failed) {
    reply = std::move(out).value();
  } else {
    const s3::S3Error& e = s3::LookupError(s3::AnswerCode(out.status()));
    status = e.http_status;
    reply["code"] = std::string(e.code);
    reply["message"] =
        std::string(out.status().message().empty() ? e.message : out.status().message());
  }
  if (audit_ && req.method() != "GET" && req.method() != "HEAD") {
    s3::AuditRecord a;
    a.time_micros = clock_->NowMicros();
    a.principal = principal;
    a.access_key = access_key;
    a.remote_ip = req.remote_ip;
    a.action = "admin " + std::string(req.method()) + " " +
               std::string(req.path().substr(kAdminPrefix.size()));
    a.status = status;
    if (failed) a.error = reply["code"].get<std::string>();
    audit_->Record(a);
  }
  co_await SendJson(resp, status, reply);
}

Task<void> AdminApi::HandleSts(http::Request& req, http::Body& body, http::Responder& resp) {
  std::string request_id =
      HexEncode(Sha256(std::to_string(clock_->NowMicros()) + std::string(req.remote_ip)))
          .substr(0, 32);
  auto fail = [&](const Status& st) -> Task<void> {
    auto [status, code] = StsError(st.code());
    s3::XmlDoc doc("ErrorResponse", false);
    doc.root().Attr("xmlns", "https://sts.amazonaws.com/doc/2011-06-15/");
    s3::XmlNode e = doc.root().Child("Error");
    e.Add("Type", status >= 500 ? "Receiver" : "Sender")
        .Add("Code", code)
        .Add("Message", st.message());
    doc.root().Add("RequestId", request_id);
    http::ResponseHead head;
    head.status = status;
    head.Set("Content-Type", "text/xml");
    head.Set("x-amzn-RequestId", request_id);
    (co_await resp.Send(head, doc.Render())).IgnoreError();
  };
  auto text = co_await ReadBody(body, kMaxAdminBody);
  if (!text.ok()) co_return co_await fail(text.status());
  auto auth = Authenticate(req, *text, sts_verifier_);
  if (!auth.ok()) co_return co_await fail(auth.status());

  // The query protocol's parameters, from the query string and the form body (the body
  // wins; boto3 sends everything in the body, curl users often in the query).
  std::map<std::string, std::string> params;
  std::string form = std::string(req.query());
  if (!text->empty()) form += (form.empty() ? "" : "&") + *text;
  std::string_view rest = form;
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    size_t eq = pair.find('=');
    auto k = UriDecode(pair.substr(0, eq), true);
    auto v = UriDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!k || !v)
      co_return co_await fail(Error(Err::kInvalidArgument, "the parameters do not decode"));
    params[*k] = *v;
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  if (params["Action"] != "AssumeRole")
    co_return co_await fail(
        Error(Err::kNotImplemented,
              "Could not find operation " + params["Action"] + " (only AssumeRole is offered)"));
  int64_t duration = 3600;
  if (params.count("DurationSeconds")) {
    auto d = ParseUint(params["DurationSeconds"]);
    if (!d || *d > 1000000)
      co_return co_await fail(Error(Err::kInvalidArgument, "DurationSeconds must be a number"));
    duration = static_cast<int64_t>(*d);
  }
  std::string name = params.count("RoleSessionName") ? params["RoleSessionName"] : "session";
  const auth::Identity& who = *auth->credential.identity;
  auto creds = co_await Offload(*blocking_, [&] {
    return iam_->AssumeRole(who, auth->credential.access_key, duration, params["Policy"], name);
  });
  if (audit_) {
    s3::AuditRecord a;
    a.time_micros = clock_->NowMicros();
    a.request_id = request_id;
    a.principal = who.arn;
    a.access_key = auth->credential.access_key;
    a.remote_ip = req.remote_ip;
    a.action = "AssumeRole";
    a.detail = creds.ok() ? "session " + creds->access_key + " (" + creds->arn + ") until " +
                                FormatIso8601(creds->expires_micros)
                          : std::string(creds.status().message());
    a.status = creds.ok() ? 200 : StsError(creds.status().code()).first;
    if (!creds.ok()) a.error = std::string(StsError(creds.status().code()).second);
    audit_->Record(a);
  }
  if (!creds.ok()) {
    spdlog::info("sts: AssumeRole refused for {}: {}", who.arn, creds.status().ToString());
    co_return co_await fail(creds.status());
  }
  spdlog::info("sts: {} (key {}) assumed session {} until {}", who.arn, auth->credential.access_key,
               creds->access_key, FormatIso8601(creds->expires_micros));

  s3::XmlDoc doc("AssumeRoleResponse", false);
  doc.root().Attr("xmlns", "https://sts.amazonaws.com/doc/2011-06-15/");
  s3::XmlNode result = doc.root().Child("AssumeRoleResult");
  result.Child("Credentials")
      .Add("AccessKeyId", creds->access_key)
      .Add("SecretAccessKey", creds->secret_key)
      .Add("SessionToken", creds->session_token)
      .Add("Expiration", FormatIso8601(creds->expires_micros));
  result.Child("AssumedRoleUser").Add("AssumedRoleId", creds->session_id).Add("Arn", creds->arn);
  result.Add("PackedPolicySize",
             params["Policy"].empty() ? 0 : params["Policy"].size() * 100 / 2048);
  doc.root().Child("ResponseMetadata").Add("RequestId", request_id);
  http::ResponseHead head;
  head.Set("Content-Type", "text/xml");
  head.Set("x-amzn-RequestId", request_id);
  (co_await resp.Send(head, doc.Render())).IgnoreError();
}

}  // namespace sluice::server
