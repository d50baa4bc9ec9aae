#include "auth/iam.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/strings.h"

namespace sluice::auth {
namespace {

using nlohmann::json;

constexpr char kUsers[] = "iam-user";
constexpr char kKeys[] = "iam-key";
constexpr char kPolicies[] = "iam-policy";
constexpr char kSessions[] = "iam-session";
// An expired session is kept this long, so its key gets ExpiredToken rather than
// InvalidAccessKeyId, then dropped.
constexpr int64_t kExpiredGraceMicros = 24LL * 3600 * 1000000;

std::string UserArn(const std::string& user) {
  return std::string("arn:aws:iam::") + kAccountId + ":user/" + user;
}

Result<json> ParseRecord(const std::string& ns, const std::string& name, const std::string& text) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Error(Err::kCorruption, "IAM record " + ns + "/" + name + " is not a JSON object");
  return j;
}

template <typename T>
T Field(const json& j, const char* name, T fallback) {
  auto it = j.find(name);
  if (it == j.end()) return fallback;
  if constexpr (std::is_same_v<T, bool>) {
    return it->is_boolean() ? it->template get<bool>() : fallback;
  } else if constexpr (std::is_same_v<T, std::string>) {
    return it->is_string() ? it->template get<std::string>() : fallback;
  } else {
    return it->is_number_integer() ? it->template get<T>() : fallback;
  }
}

}  // namespace

Status ValidateIamName(std::string_view name, size_t max, std::string_view what) {
  if (name.empty() || name.size() > max)
    return Error(Err::kInvalidArgument,
                 std::string(what) + " names are 1 to " + std::to_string(max) + " characters");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("+=,.@_-").find(c) != std::string_view::npos;
    if (!ok)
      return Error(Err::kInvalidArgument,
                   std::string(what) + " names use only letters, digits and +=,.@_-");
  }
  return Status::Ok();
}

Iam::Iam(DocStore* store, const SecretBox* box, const io::Clock* clock, io::Random* random,
         Credential root, IamOptions opts)
    : store_(store),
      box_(box),
      clock_(clock),
      random_(random),
      root_(std::move(root)),
      opts_(opts) {
  root_.identity = Identity::Root();
}

Status Iam::Load() {
  State s;
  SLUICE_ASSIGN_OR_RETURN(auto users, store_->List(kUsers));
  for (const auto& [name, text] : users) {
    SLUICE_ASSIGN_OR_RETURN(json j, ParseRecord(kUsers, name, text));
    UserRec u;
    u.admin = Field(j, "admin", false);
    u.created = Field<int64_t>(j, "created", 0);
    if (j.contains("policies") && j["policies"].is_array())
      for (const auto& p : j["policies"])
        if (p.is_string()) u.policies.push_back(p.get<std::string>());
    s.users[name] = std::move(u);
  }
  SLUICE_ASSIGN_OR_RETURN(auto keys, store_->List(kKeys));
  for (const auto& [ak, text] : keys) {
    SLUICE_ASSIGN_OR_RETURN(json j, ParseRecord(kKeys, ak, text));
    KeyRec k;
    k.user = Field<std::string>(j, "user", "");
    k.enabled = Field(j, "enabled", false);
    k.created = Field<int64_t>(j, "created", 0);
    SLUICE_ASSIGN_OR_RETURN(k.secret, box_->Open(Field<std::string>(j, "secret", ""), ak));
    s.keys[ak] = std::move(k);
  }
  SLUICE_ASSIGN_OR_RETURN(auto policies, store_->List(kPolicies));
  for (const auto& [name, text] : policies) {
    auto compiled = Policy::Parse(text, PolicyKind::kIdentity);
    if (!compiled.ok())
      return Error(Err::kCorruption,
                   "stored policy " + name + ": " + std::string(compiled.status().message()));
    s.policies[name] = {text, std::move(compiled).value()};
  }
  SLUICE_ASSIGN_OR_RETURN(auto sessions, store_->List(kSessions));
  std::vector<DocStore::Write> purge;
  int64_t now = clock_->NowMicros();
  for (const auto& [ak, text] : sessions) {
    SLUICE_ASSIGN_OR_RETURN(json j, ParseRecord(kSessions, ak, text));
    SessionRec r;
    r.user = Field<std::string>(j, "user", "");
    r.parent_key = Field<std::string>(j, "parent", "");
    r.name = Field<std::string>(j, "name", "");
    r.expires = Field<int64_t>(j, "expires", 0);
    r.policy_text = Field<std::string>(j, "policy", "");
    if (r.expires + kExpiredGraceMicros < now || (!r.user.empty() && !s.users.count(r.user))) {
      purge.push_back({kSessions, ak, std::nullopt});
      continue;
    }
    SLUICE_ASSIGN_OR_RETURN(r.secret, box_->Open(Field<std::string>(j, "secret", ""), ak));
    SLUICE_ASSIGN_OR_RETURN(r.token, box_->Open(Field<std::string>(j, "token", ""), ak + "/token"));
    if (!r.policy_text.empty()) {
      auto p = Policy::Parse(r.policy_text, PolicyKind::kIdentity);
      if (!p.ok())
        return Error(Err::kCorruption,
                     "session policy of " + ak + ": " + std::string(p.status().message()));
      r.policy = std::move(p).value();
    }
    s.sessions[ak] = std::move(r);
  }
  if (!purge.empty()) SLUICE_RETURN_IF_ERROR(store_->Apply(purge));
  Derive(&s);
  std::unique_lock l(mu_);
  state_ = std::move(s);
  return Status::Ok();
}

Status Iam::Reload() {
  std::lock_guard w(write_mu_);
  return Load();
}

void Iam::Derive(State* s) const {
  s->user_ids.clear();
  s->session_ids.clear();
  for (const auto& [name, u] : s->users) {
    auto id = std::make_shared<Identity>();
    id->kind = Identity::Kind::kUser;
    id->user = name;
    id->arn = UserArn(name);
    id->admin = u.admin;
    id->principals = {id->arn};
    for (const auto& p : u.policies)
      if (auto it = s->policies.find(p); it != s->policies.end())
        id->policies.push_back(it->second.compiled);
    s->user_ids[name] = std::move(id);
  }
  for (const auto& [ak, r] : s->sessions) {
    const Identity* parent = Identity::Root().get();
    if (!r.user.empty()) {
      auto it = s->user_ids.find(r.user);
      if (it == s->user_ids.end()) continue;
      parent = it->second.get();
    }
    auto id = std::make_shared<Identity>(*parent);
    id->kind = Identity::Kind::kSession;
    id->arn = std::string("arn:aws:sts::") + kAccountId + ":assumed-role/" +
              (r.user.empty() ? "root" : r.user) + "/" + r.name;
    id->principals.push_back(id->arn);
    id->session_policy = r.policy;
    id->session_token = r.token;
    id->expires_micros = r.expires;
    s->session_ids[ak] = std::move(id);
  }
}

Iam::State Iam::Snapshot() const {
  std::shared_lock l(mu_);
  return state_;
}

Status Iam::Commit(const std::vector<DocStore::Write>& writes, State next) {
  SLUICE_RETURN_IF_ERROR(store_->Apply(writes));
  Derive(&next);
  std::unique_lock l(mu_);
  state_ = std::move(next);
  return Status::Ok();
}

std::optional<Credential> Iam::Lookup(const std::string& ak) const {
  if (ak == root_.access_key) return root_;
  std::shared_lock l(mu_);
  if (auto it = state_.keys.find(ak); it != state_.keys.end()) {
    if (!it->second.enabled) return std::nullopt;
    auto id = state_.user_ids.find(it->second.user);
    if (id == state_.user_ids.end()) return std::nullopt;
    return Credential{ak, it->second.secret, root_.owner_id, root_.display_name, id->second};
  }
  if (auto it = state_.sessions.find(ak); it != state_.sessions.end()) {
    auto id = state_.session_ids.find(ak);
    if (id == state_.session_ids.end()) return std::nullopt;
    return Credential{ak, it->second.secret, root_.owner_id, root_.display_name, id->second};
  }
  return std::nullopt;
}

std::string Iam::EncodeUser(const UserRec& u) const {
  return json{{"admin", u.admin}, {"policies", u.policies}, {"created", u.created}}.dump();
}

std::string Iam::EncodeKey(const std::string& ak, const KeyRec& k) const {
  return json{{"user", k.user},
              {"enabled", k.enabled},
              {"created", k.created},
              {"secret", box_->Seal(k.secret, ak)}}
      .dump();
}

std::string Iam::EncodeSession(const std::string& ak, const SessionRec& r) const {
  return json{{"user", r.user},
              {"parent", r.parent_key},
              {"name", r.name},
              {"expires", r.expires},
              {"policy", r.policy_text},
              {"secret", box_->Seal(r.secret, ak)},
              {"token", box_->Seal(r.token, ak + "/token")}}
      .dump();
}

std::string Iam::NewAccessKey(std::string_view prefix) const {
  static constexpr char kAlnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string raw(20, '\0');
  random_->Fill(raw.data(), raw.size());
  std::string ak(prefix);
  for (size_t i = ak.size(); i < 20; i++) ak += kAlnum[static_cast<unsigned char>(raw[i]) % 32];
  return ak;
}

std::string Iam::NewSecret(size_t raw_bytes) const {
  std::string raw(raw_bytes, '\0');
  random_->Fill(raw.data(), raw.size());
  std::string s = Base64Encode(raw);
  for (auto& c : s)
    if (c == '+' || c == '/') c = c == '+' ? 'p' : 's';
  return s;
}

Status Iam::CreateUser(const std::string& name, bool admin) {
  SLUICE_RETURN_IF_ERROR(ValidateIamName(name, 64, "user"));
  std::lock_guard w(write_mu_);
  State s = Snapshot();
  if (s.users.count(name))
    return Error(Err::kUserAlreadyExists, "user " + name + " already exists");
  UserRec u{admin, {}, clock_->NowMicros()};
  std::vector<DocStore::Write> writes{{kUsers, name, EncodeUser(u)}};
  s.users[name] = std::move(u);
  return Commit(writes, std::move(s));
}

Status Iam::DeleteUser(const std::string& name) {
  std::lock_guard w(write_mu_);
  State s = Snapshot();
  if (!s.users.erase(name)) return Error(Err::kNoSuchUser, "no user named " + name);
  std::vector<DocStore::Write> writes{{kUsers, name, std::nullopt}};
  for (auto it = s.keys.begin(); it != s.keys.end();) {
    if (it->second.user == name) {
      writes.push_back({kKeys, it->first, std::nullopt});
      it = s.keys.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = s.sessions.begin(); it != s.sessions.end();) {
    if (it->second.user == name) {
      writes.push_back({kSessions, it->first, std::nullopt});
      it = s.sessions.erase(it);
    } else {
      ++it;
    }
  }
  return Commit(writes, std::move(s));
}

std::vector<UserInfo> Iam::ListUsers() const {
  std::shared_lock l(mu_);
  std::vector<UserInfo> out;
  for (const auto& [name, u] : state_.users) {
    UserInfo i{name, u.admin, u.policies, u.created, 0};
    for (const auto& [ak, k] : state_.keys) i.keys += k.user == name;
    out.push_back(std::move(i));
  }
  return out;
}

Result<UserInfo> Iam::GetUser(const std::string& name) const {
  for (auto& u : ListUsers())
    if (u.name == name) return u;
  return Error(Err::kNoSuchUser, "no user named " + name);
}

Result<NewKey> Iam::CreateKey(const std::string& user) {
  std::lock_guard w(write_mu_);
  State s = Snapshot();
  if (!s.users.count(user)) return Error(Err::kNoSuchUser, "no user named " + user);
  NewKey nk{NewAccessKey("SK"), NewSecret(30)};
  while (s.keys.count(nk.access_key) || nk.access_key == root_.access_key)
    nk.access_key = NewAccessKey("SK");
  KeyRec k{user, nk.secret_key, true, clock_->NowMicros()};
  std::vector<DocStore::Write> writes{{kKeys, nk.access_key, EncodeKey(nk.access_key, k)}};
  s.keys[nk.access_key] = std::move(k);
  SLUICE_RETURN_IF_ERROR(Commit(writes, std::move(s)));
  return nk;
}

Result<std::vector<KeyInfo>> Iam::ListKeys(const std::string& user) const {
  std::shared_lock l(mu_);
  if (!user.empty() && !state_.users.count(user))
    return Error(Err::kNoSuchUser, "no user named " + user);
  std::vector<KeyInfo> out;
  for (const auto& [ak, k] : state_.keys)
    if (user.empty() || k.user == user) out.push_back({ak, k.user, k.enabled, k.created});
  return out;
}

Status Iam::SetKeyEnabled(const std::string& ak, bool enabled) {
  std::lock_guard w(write_mu_);
  State s = Snapshot();
  auto it = s.keys.find(ak);
  if (it == s.keys.end()) return Error(Err::kNotFound, "no access key " + ak);
  it->second.enabled = enabled;
  return Commit({{kKeys, ak, EncodeKey(ak, it->second)}}, std::move(s));
}

Status Iam::DeleteKey(const std::string& ak) {
  std::lock_guard w(write_mu_);
  State s = Snapshot();
  if (!s.keys.erase(ak)) return Error(Err::kNotFound, "no access key " + ak);
  return Commit({{kKeys, ak, std::nullopt}}, std::move(s));
}

Result<NewKey> Iam::RotateKey(const std::string& ak) {
  std::lock_guard w(write_mu_);
  State s = Snapshot();
  auto it = s.keys.find(ak);
  if (it == s.keys.end()) return Error(Err::kNotFound, "no access key " + ak);
  it->second.enabled = false;
  NewKey nk{NewAccessKey("SK"), NewSecret(30)};
  while (s.keys.count(nk.access_key) || nk.access_key == root_.access_key)
    nk.access_key = NewAccessKey("SK");
  KeyRec k{it->second.user, nk.secret_key, true, clock_->NowMicros()};
  std::vector<DocStore::Write> writes{{kKeys, ak, EncodeKey(ak, it->second)},
                                      {kKeys, nk.access_key, EncodeKey(nk.access_key, k)}};
  s.keys[nk.access_key] = std::move(k);
  SLUICE_RETURN_IF_ERROR(Commit(writes, std::move(s)));
  return nk;
}

Status Iam::PutPolicy(const std::string& name, const std::string& document) {
  SLUICE_RETURN_IF_ERROR(ValidateIamName(name, 128, "policy"));
  SLUICE_ASSIGN_OR_RETURN(auto compiled, Policy::Parse(document, PolicyKind::kIdentity));
  std::lock_guard w(write_mu_);
  State s = Snapshot();
  s.policies[name] = {document, std::move(compiled)};
  return Commit({{kPolicies, name, document}}, std::move(s));
}

std::vector<PolicyInfo> Iam::ListPolicies() const {
  std::shared_lock l(mu_);
  std::vector<PolicyInfo> out;
  for (const auto& [name, p] : state_.policies) {
    PolicyInfo i{name, p.text, {}};
    for (const auto& [u, rec] : state_.users)
      if (std::find(rec.policies.begin(), rec.policies.end(), name) != rec.policies.end())
        i.users.push_back(u);
    out.push_back(std::move(i));
  }
  return out;
}

Result<PolicyInfo> Iam::GetPolicy(const std::string& name) const {
  for (auto& p : ListPolicies())
    if (p.name == name) return p;
  return Error(Err::kNoSuchPolicy, "no policy named " + name);
}

Status Iam::DeletePolicy(const std::string& name) {
  std::lock_guard w(write_mu_);
  State s = Snapshot();
  if (!s.policies.count(name)) return Error(Err::kNoSuchPolicy, "no policy named " + name);
  for (const auto& [u, rec] : s.users)
    if (std::find(rec.policies.begin(), rec.policies.end(), name) != rec.policies.end())
      return Error(Err::kPolicyInUse,
                   "policy " + name + " is attached to user " + u + "; detach it first");
  s.policies.erase(name);
  return Commit({{kPolicies, name, std::nullopt}}, std::move(s));
}

Status Iam::AttachPolicy(const std::string& user, const std::string& policy) {
  std::lock_guard w(write_mu_);
  State s = Snapshot();
  auto u = s.users.find(user);
  if (u == s.users.end()) return Error(Err::kNoSuchUser, "no user named " + user);
  if (!s.policies.count(policy)) return Error(Err::kNoSuchPolicy, "no policy named " + policy);
  auto& ps = u->second.policies;
  if (std::find(ps.begin(), ps.end(), policy) != ps.end()) return Status::Ok();
  ps.push_back(policy);
  return Commit({{kUsers, user, EncodeUser(u->second)}}, std::move(s));
}

Status Iam::DetachPolicy(const std::string& user, const std::string& policy) {
  std::lock_guard w(write_mu_);
  State s = Snapshot();
  auto u = s.users.find(user);
  if (u == s.users.end()) return Error(Err::kNoSuchUser, "no user named " + user);
  auto& ps = u->second.policies;
  auto it = std::find(ps.begin(), ps.end(), policy);
  if (it == ps.end())
    return Error(Err::kNoSuchPolicy, "policy " + policy + " is not attached to " + user);
  ps.erase(it);
  return Commit({{kUsers, user, EncodeUser(u->second)}}, std::move(s));
}

Result<SessionCredentials> Iam::AssumeRole(const Identity& caller, const std::string& parent_key,
                                           int64_t duration, std::string_view policy,
                                           const std::string& session_name) {
  if (caller.is_session())
    return Error(Err::kAccessDenied,
                 "temporary credentials cannot assume a role; use a user's key");
  if (duration < opts_.min_session_seconds || duration > opts_.max_session_seconds)
    return Error(Err::kInvalidArgument, "DurationSeconds must be between " +
                                            std::to_string(opts_.min_session_seconds) + " and " +
                                            std::to_string(opts_.max_session_seconds));
  if (session_name.size() < 2)
    return Error(Err::kInvalidArgument, "RoleSessionName must have 2 to 64 characters");
  SLUICE_RETURN_IF_ERROR(ValidateIamName(session_name, 64, "RoleSessionName"));
  SessionRec r;
  r.user = caller.user;
  r.parent_key = parent_key;
  r.name = session_name;
  if (!policy.empty()) {
    if (policy.size() > 2048)
      return Error(Err::kMalformedPolicy, "a session policy has at most 2048 characters");
    SLUICE_ASSIGN_OR_RETURN(r.policy, Policy::Parse(policy, PolicyKind::kIdentity));
    r.policy_text = std::string(policy);
  }
  int64_t now = clock_->NowMicros();
  r.expires = now + duration * 1000000;
  r.secret = NewSecret(30);
  r.token = NewSecret(48);

  std::lock_guard w(write_mu_);
  State s = Snapshot();
  if (!r.user.empty() && !s.users.count(r.user))
    return Error(Err::kNoSuchUser, "no user named " + r.user);
  std::string ak = NewAccessKey("ST");
  while (s.keys.count(ak) || s.sessions.count(ak) || ak == root_.access_key)
    ak = NewAccessKey("ST");
  std::vector<DocStore::Write> writes{{kSessions, ak, EncodeSession(ak, r)}};
  for (auto it = s.sessions.begin(); it != s.sessions.end();) {  // drop long-expired sessions
    if (it->second.expires + kExpiredGraceMicros < now) {
      writes.push_back({kSessions, it->first, std::nullopt});
      it = s.sessions.erase(it);
    } else {
      ++it;
    }
  }
  SessionCredentials out{ak,
                         r.secret,
                         r.token,
                         r.expires,
                         std::string("arn:aws:sts::") + kAccountId + ":assumed-role/" +
                             (r.user.empty() ? "root" : r.user) + "/" + r.name,
                         parent_key + ":" + r.name};
  s.sessions[ak] = std::move(r);
  SLUICE_RETURN_IF_ERROR(Commit(writes, std::move(s)));
  return out;
}

}  // namespace sluice::auth
