// In-memory DataStore for tests. Thread-safe.
#pragma once

#include <map>
#include <mutex>

#include "storage/api/data_store.h"

namespace sluice::storage {

class MemDataStore final : public DataStore {
 public:
  Blocking blocking() const override { return {false, false}; }
  Result<std::unique_ptr<DataWriter>> Create(uint64_t size_hint = 0,
                                             std::string_view owner = {}) override;
  Result<std::unique_ptr<DataReader>> Open(const std::string& id) override;
  // Copies the bytes (a test store): O(size), unlike the local store's in-place write.
  bool SupportsExtend() const override { return true; }
  Result<std::unique_ptr<DataWriter>> Extend(const std::string& id, uint64_t offset) override;
  void Published(const std::string& id) override;
  Status Delete(const std::string& id) override;
  Result<std::vector<Unpublished>> ListUnpublished() override;

 private:
  friend class MemWriter;
  struct Blob {
    std::shared_ptr<const std::string> data;
    bool published = false;
    std::string owner;
  };
  mutable std::mutex mu_;
  std::map<std::string, Blob> blobs_;
  uint64_t next_id_ = 1;
};

}  // namespace sluice::storage
