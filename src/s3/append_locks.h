// One append at a time per object in this process. An append writes past the end of the
// object's last data file before its index commit, so two at the same offset would write
// over each other's bytes; the second is refused at once (409 ConditionalRequestConflict)
// instead of waiting behind a body still in flight. Ordinary writes need no lock: the
// append's index commit is conditional on the object it extended (WriteCondition::Extends).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>

namespace sluice::s3 {

class AppendLocks {
 public:
  class Held {
   public:
    Held(AppendLocks* locks, std::string name) : locks_(locks), name_(std::move(name)) {}
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;
    ~Held() {
      std::lock_guard l(locks_->mu_);
      locks_->held_.erase(name_);
    }

   private:
    AppendLocks* locks_;
    std::string name_;
  };
  // Null when another append to the object holds it.
  std::unique_ptr<Held> TryLock(const std::string& bucket, const std::string& key) {
    std::string name = bucket + '\0' + key;
    std::lock_guard l(mu_);
    if (!held_.insert(name).second) return nullptr;
    return std::make_unique<Held>(this, std::move(name));
  }

 private:
  std::mutex mu_;
  std::unordered_set<std::string> held_;
};

}  // namespace sluice::s3
