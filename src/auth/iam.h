// Users, access keys, named identity policies and temporary (STS) sessions: the
// credential store of a server with more than its root credential.
//
// State lives in memory for lookups on the request path and is written through to a
// DocStore (the metadata index) before any change is acknowledged: every mutation is one
// atomic, synced write. Secrets and session tokens are stored sealed by a SecretBox.
//
// Concurrency: Lookup and the readers take a shared lock and copy out; mutations are
// serialised by their own mutex, persist, and then swap the new state in under the
// exclusive lock, so a lookup never waits for a disk sync.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "auth/credentials.h"
#include "auth/secret_box.h"
#include "common/status.h"
#include "io/env.h"

namespace sluice::auth {

// Where IAM records persist. Implemented over the metadata index by the server wiring.
class DocStore {
 public:
  struct Write {
    std::string ns, name;
    std::optional<std::string> doc;  // nullopt deletes
  };
  virtual ~DocStore() = default;
  virtual Status Apply(const std::vector<Write>& writes) = 0;  // atomic and durable
  virtual Result<std::vector<std::pair<std::string, std::string>>> List(const std::string& ns) = 0;
};

struct UserInfo {
  std::string name;
  bool admin = false;
  std::vector<std::string> policies;
  int64_t created_micros = 0;
  size_t keys = 0;
};

struct KeyInfo {
  std::string access_key;
  std::string user;
  bool enabled = true;
  int64_t created_micros = 0;
};

struct NewKey {
  std::string access_key, secret_key;
};

struct SessionCredentials {
  std::string access_key, secret_key, session_token;
  int64_t expires_micros = 0;
  std::string arn;
  std::string session_id;  // AssumedRoleId: "<parent key>:<session name>"
};

struct PolicyInfo {
  std::string name;
  std::string document;
  std::vector<std::string> users;  // attached to
};

struct IamOptions {
  int64_t min_session_seconds = 900;  // AWS's floor; tests lower it to watch expiry
  int64_t max_session_seconds = 43200;
};

class Iam final : public CredentialStore {
 public:
  // `root` is the bootstrap credential (flags, environment or generated file); it is not
  // stored here and cannot be changed through this API.
  Iam(DocStore* store, const SecretBox* box, const io::Clock* clock, io::Random* random,
      Credential root, IamOptions opts = {});
  // Reads every record; kCorruption if one is unreadable or sealed under another key.
  Status Load();
  // Load again, serialised with this process's own changes: for changes another process
  // made to the same store (a shared index tells of them).
  Status Reload();

  std::optional<Credential> Lookup(const std::string& access_key) const override;

  Status CreateUser(const std::string& name, bool admin);
  Status DeleteUser(const std::string& name);  // with its keys and sessions
  std::vector<UserInfo> ListUsers() const;
  Result<UserInfo> GetUser(const std::string& name) const;

  Result<NewKey> CreateKey(const std::string& user);
  Result<std::vector<KeyInfo>> ListKeys(const std::string& user) const;  // "" = every user
  Status SetKeyEnabled(const std::string& access_key, bool enabled);
  Status DeleteKey(const std::string& access_key);
  // A new key for the same user; the old one is disabled (delete it once nothing uses it).
  Result<NewKey> RotateKey(const std::string& access_key);

  Status PutPolicy(const std::string& name, const std::string& document);  // kMalformedPolicy
  Result<PolicyInfo> GetPolicy(const std::string& name) const;
  std::vector<PolicyInfo> ListPolicies() const;
  Status DeletePolicy(const std::string& name);  // kPolicyInUse while attached
  Status AttachPolicy(const std::string& user, const std::string& policy);
  Status DetachPolicy(const std::string& user, const std::string& policy);

  // Temporary credentials acting as `caller` (root or a user), narrowed by the inline
  // session `policy` when given. kInvalidArgument for a duration out of range.
  Result<SessionCredentials> AssumeRole(const Identity& caller, const std::string& parent_key,
                                        int64_t duration_seconds, std::string_view policy,
                                        const std::string& session_name);

  const IamOptions& options() const { return opts_; }

 private:
  struct UserRec {
    bool admin = false;
    std::vector<std::string> policies;
    int64_t created = 0;
  };
  struct KeyRec {
    std::string user;
    std::string secret;
    bool enabled = true;
    int64_t created = 0;
  };
  struct PolicyRec {
    std::string text;
    std::shared_ptr<const Policy> compiled;
  };
  struct SessionRec {
    std::string user;  // "" = a session of root
    std::string parent_key;
    std::string name;
    std::string secret, token;
    int64_t expires = 0;
    std::string policy_text;
    std::shared_ptr<const Policy> policy;
  };
  struct State {
    std::map<std::string, UserRec> users;
    std::map<std::string, KeyRec> keys;
    std::map<std::string, PolicyRec> policies;
    std::map<std::string, SessionRec> sessions;
    // Derived: the identity of every user and session, rebuilt by Derive().
    std::map<std::string, std::shared_ptr<const Identity>> user_ids;
    std::map<std::string, std::shared_ptr<const Identity>> session_ids;
  };

  void Derive(State* s) const;
  // Persists `writes`, then installs `next` (already changed by the caller).
  Status Commit(const std::vector<DocStore::Write>& writes, State next);
  std::string EncodeUser(const UserRec& u) const;
  std::string EncodeKey(const std::string& ak, const KeyRec& k) const;
  std::string EncodeSession(const std::string& ak, const SessionRec& r) const;
  std::string NewAccessKey(std::string_view prefix) const;
  std::string NewSecret(size_t raw_bytes) const;
  State Snapshot() const;

  DocStore* store_;
  const SecretBox* box_;
  const io::Clock* clock_;
  io::Random* random_;
  Credential root_;
  IamOptions opts_;
  std::mutex write_mu_;  // serialises mutations
  mutable std::shared_mutex mu_;
  State state_;
};

// IAM's naming rules: user and policy names of [A-Za-z0-9+=,.@_-], 1 to 64 (users) or
// 128 (policies) characters.
Status ValidateIamName(std::string_view name, size_t max, std::string_view what);

}  // namespace sluice::auth
