// A sorted key-value store: the one thing the metadata index needs from its engine.
// Implementations: RocksDB (rocks_kv.cc, the embedded default) and an in-memory map that
// can drop unsynced writes (mem_kv.h, for crash tests). Thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice::meta {

class KvBatch {
 public:
  void Put(std::string key, std::string value) {
    ops_.push_back({true, std::move(key), std::move(value)});
  }
  void Delete(std::string key) { ops_.push_back({false, std::move(key), {}}); }
  bool empty() const { return ops_.empty(); }
  struct Op {
    bool put;
    std::string key;
    std::string value;
  };
  const std::vector<Op>& ops() const { return ops_; }

 private:
  std::vector<Op> ops_;
};

class KvIterator {
 public:
  virtual ~KvIterator() = default;
  virtual void Seek(std::string_view key) = 0;  // first entry >= key
  virtual bool Valid() const = 0;
  virtual void Next() = 0;
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;
  virtual Status status() const = 0;
};

class KvStore {
 public:
  virtual ~KvStore() = default;
  // kNotFound when absent.
  virtual Status Get(std::string_view key, std::string* value) = 0;
  // Atomic. With sync, durable on return; concurrent synced writers share one sync
  // (group commit).
  virtual Status Write(const KvBatch& batch, bool sync) = 0;
  virtual std::unique_ptr<KvIterator> NewIterator() = 0;
};

// Opens (creating if needed) a RocksDB database in `dir`.
Result<std::unique_ptr<KvStore>> OpenRocksKv(const std::string& dir);

}  // namespace sluice::meta
