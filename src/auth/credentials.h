// Who may sign requests. This issue has one root credential; users and policies come
// later and plug in behind the same interface.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace sluice::auth {

struct Credential {
  std::string access_key;
  std::string secret_key;
  std::string owner_id;  // the canonical user id shown as Owner in listings
  std::string display_name;
};

class CredentialStore {
 public:
  virtual ~CredentialStore() = default;
  // Thread-safe.
  virtual std::optional<Credential> Lookup(const std::string& access_key) const = 0;
};

// A fixed set of credentials.
class StaticCredentialStore final : public CredentialStore {
 public:
  void Add(Credential c) { creds_[c.access_key] = std::move(c); }
  std::optional<Credential> Lookup(const std::string& access_key) const override {
    auto it = creds_.find(access_key);
    if (it == creds_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, Credential> creds_;
};

}  // namespace sluice::auth
