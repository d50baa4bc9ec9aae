// Who may sign requests, and who they are once they have.
//
// A Credential is an access key with its secret and the Identity it acts as. Identities
// are immutable snapshots shared between threads: a change to a user (a policy attached,
// a key disabled) builds new ones, and requests already in flight keep the old.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/policy.h"

namespace sluice::auth {

// The account every identity of this server belongs to, as it appears in ARNs.
inline constexpr char kAccountId[] = "000000000000";

struct Identity {
  enum class Kind { kRoot, kUser, kSession };
  Kind kind = Kind::kRoot;
  std::string user;    // the user name; "" for root (and sessions of root)
  std::string arn;     // arn:aws:iam::ACCOUNT:root | :user/NAME | arn:aws:sts::...:assumed-role/...
  bool admin = false;  // root, or a user made admin: every S3 action, and the admin API
  // The names a bucket policy's Principal may use for this identity.
  std::vector<std::string> principals;
  std::vector<std::shared_ptr<const Policy>> policies;  // attached identity policies
  std::shared_ptr<const Policy> session_policy;         // sessions: narrows everything
  std::string session_token;                            // sessions: x-amz-security-token
  int64_t expires_micros = 0;                           // sessions: 0 = never

  bool is_root() const { return kind == Kind::kRoot; }
  bool is_session() const { return kind == Kind::kSession; }
  static std::shared_ptr<const Identity> Root();
};

struct Credential {
  std::string access_key;
  std::string secret_key;
  std::string owner_id;  // the canonical user id shown as Owner in listings
  std::string display_name;
  std::shared_ptr<const Identity> identity;  // never null for a credential a store returns
};

class CredentialStore {
 public:
  virtual ~CredentialStore() = default;
  // Thread-safe. Disabled keys are absent; expired sessions are returned, so the verifier
  // can answer ExpiredToken rather than "no such key".
  virtual std::optional<Credential> Lookup(const std::string& access_key) const = 0;
};

// A fixed set of root credentials (tests, and servers without IAM).
class StaticCredentialStore final : public CredentialStore {
 public:
  void Add(Credential c) {
    if (!c.identity) c.identity = Identity::Root();
    creds_[c.access_key] = std::move(c);
  }
  std::optional<Credential> Lookup(const std::string& access_key) const override {
    auto it = creds_.find(access_key);
    if (it == creds_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, Credential> creds_;
};

}  // namespace sluice::auth
