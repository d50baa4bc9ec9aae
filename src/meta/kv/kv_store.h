// A sorted key-value store: the one thing the metadata index needs from its engine.
// Implementations: RocksDB (rocks_kv.cc, the embedded default) and an in-memory map that
// can drop unsynced writes (mem_kv.h, for crash tests). Thread-safe.
#pragma once

#include <functional>
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
  // A prefix of value() (all of it, or at least its first 512 bytes), for readers that
  // decode only leading fields (a listing): a store may keep the rest of a long value
  // apart and fetch it only when value() is asked for.
  virtual std::string_view head() const { return value(); }
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

  // For stores shared by several processes, where one KvIndex call is one optimistic
  // transaction (meta/rados/rados_txn.h): Write then commits only if nothing the call read
  // has changed. Local stores, serialised by KvIndex's locks, ignore both.
  // A hint that Gets of `keys` follow: a store whose reads are round trips makes it one.
  virtual void Prefetch(const std::vector<std::string>& /*keys*/) {}
  // Whether Prefetch does anything (callers skip building the keys when it does not).
  virtual bool prefetches() const { return false; }
  // A hint that the next iterator will walk about `entries` entries from its first Seek (a
  // listing page), and that Gets of `along` follow that Seek: a store whose reads are round
  // trips fetches all of it at once.
  // `along` by value: the RADOS transaction keeps it by move.
  // NOLINTNEXTLINE(performance-unnecessary-value-param)
  virtual void ExpectScan(size_t /*entries*/, std::vector<std::string> /*along*/) {}
  // A hint that the next iterator walks object records under `prefix` and reads only their
  // head() (a listing): it may serve them from a summary that holds no more than that
  // (meta/rados/packs.h), and show no entry outside `prefix`.
  virtual void ExpectListing(std::string_view /*prefix*/) {}
  // An iterator whose entries the next Write does not depend on (dropping expired records
  // that no other call writes), so a transactional store need not guard them.
  virtual std::unique_ptr<KvIterator> NewUnguardedIterator() { return NewIterator(); }
};

// Opens (creating if needed) a RocksDB database in `dir`.
// What the RocksDB store asks of whoever keeps space on its disk (the local backend's
// storage::SpaceGuard, wired by the server). Either may be empty.
struct KvSpaceHooks {
  // Before a batch of about `bytes` goes to the log, and before RocksDB appends `bytes` to
  // any of its files: make room if the disk has none. A batch is refused with its error
  // (RocksDB is never handed a write the disk cannot take); for other appends it only
  // makes room.
  std::function<Status(uint64_t bytes)> room;
  // A write found the disk full anyway: free what can be freed before the store recovers.
  std::function<bool()> on_no_space;
  // Whether RocksDB may preallocate its files (fallocate): each log 1.1 write buffers
  // (70 MiB) ahead. Worth 5-7% on durable small PUTs (BENCHMARKS.md), but on a small disk
  // the space is missed, and writes into it go unseen by a free-space check.
  bool preallocate = true;
};
Result<std::unique_ptr<KvStore>> OpenRocksKv(const std::string& dir, KvSpaceHooks hooks = {});

}  // namespace sluice::meta
