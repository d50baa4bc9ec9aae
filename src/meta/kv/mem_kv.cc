#include "meta/kv/mem_kv.h"

#include <mutex>

namespace sluice::meta {
namespace {
void Apply(std::map<std::string, std::string, std::less<>>& m, const KvBatch& b) {
  for (const auto& op : b.ops()) {
    if (op.put)
      m[op.key] = op.value;
    else
      m.erase(op.key);
  }
}
}  // namespace

// Re-finds its position under the lock at each step, so it never holds a lock between
// calls and stays valid across concurrent writes (it sees them, like a non-snapshot read).
class MemKvIterator final : public KvIterator {
 public:
  explicit MemKvIterator(MemKv* kv) : kv_(kv) {}
  void Seek(std::string_view key) override {
    std::shared_lock l(kv_->mu_);
    Load(kv_->live_.lower_bound(key));
  }
  bool Valid() const override { return valid_; }
  void Next() override {
    std::shared_lock l(kv_->mu_);
    Load(kv_->live_.upper_bound(key_));
  }
  std::string_view key() const override { return key_; }
  std::string_view value() const override { return value_; }
  Status status() const override { return Status::Ok(); }

 private:
  void Load(MemKv::Map::const_iterator it) {
    valid_ = it != kv_->live_.end();
    if (valid_) {
      key_ = it->first;
      value_ = it->second;
    }
  }
  MemKv* kv_;
  bool valid_ = false;
  std::string key_, value_;
};

Status MemKv::Get(std::string_view key, std::string* value) {
  std::shared_lock l(mu_);
  auto it = live_.find(key);
  if (it == live_.end()) return Status(Err::kNotFound, "");
  *value = it->second;
  return Status::Ok();
}

Status MemKv::Write(const KvBatch& batch, bool sync) {
  std::unique_lock l(mu_);
  if (!write_fault_.ok()) return write_fault_;
  Apply(live_, batch);
  unsynced_.push_back(batch);
  if (sync) {
    for (const auto& b : unsynced_) Apply(durable_, b);
    unsynced_.clear();
  }
  return Status::Ok();
}

std::unique_ptr<KvIterator> MemKv::NewIterator() { return std::make_unique<MemKvIterator>(this); }

void MemKv::DropUnsynced() {
  std::unique_lock l(mu_);
  unsynced_.clear();
  live_ = durable_;
}

void MemKv::SetWriteFault(Status s) {
  std::unique_lock l(mu_);
  write_fault_ = std::move(s);
}

}  // namespace sluice::meta
