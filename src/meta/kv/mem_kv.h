// An in-memory KvStore for tests. It keeps the durable state apart from the live one:
// a synced Write makes every earlier write durable too (as a WAL does), and
// DropUnsynced() forgets what was not yet durable, as a power cut would.
#pragma once

#include <map>
#include <shared_mutex>

#include "meta/kv/kv_store.h"

namespace sluice::meta {

class MemKv final : public KvStore {
 public:
  Status Get(std::string_view key, std::string* value) override;
  Status Write(const KvBatch& batch, bool sync) override;
  std::unique_ptr<KvIterator> NewIterator() override;
  void DropUnsynced();
  // Makes Write fail with this status until cleared (OK).
  void SetWriteFault(Status s);

 private:
  friend class MemKvIterator;
  using Map = std::map<std::string, std::string, std::less<>>;
  mutable std::shared_mutex mu_;
  Map live_;
  Map durable_;
  std::vector<KvBatch> unsynced_;
  Status write_fault_;
};

}  // namespace sluice::meta
