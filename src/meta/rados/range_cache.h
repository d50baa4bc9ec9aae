// Runs of index entries a gateway has read, kept with the RADOS object version they were
// read at, so that a listing page the gateway has served before costs one small round trip
// (an `assert_version` that the OSD answers without reading any entry) instead of an omap
// read of a thousand entries (docs/rados.md, "Listing pages from memory").
//
// Correctness does not depend on what is cached: a run is used only after the OSD has
// confirmed, in the same read as the page's other keys, that the object is still at the
// run's version. Every committed change to an object bumps its version, whichever gateway
// made it, so a validated run is exactly what an omap read would have returned.
//
// A run is cached only when two reads of the object in a row saw the same version (or it is
// the first read of that object): a bucket under steady writes would fail every validation,
// and would pay two round trips a page instead of one. Memory is bounded by a byte budget,
// evicting the least recently used run.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sluice::meta {

// Consecutive omap entries of one object: keys and stored values in one buffer.
class EntryRun {
 public:
  void Reserve(size_t entries, size_t bytes);
  void Add(std::string_view key, std::string_view value);
  size_t size() const { return index_.size(); }
  std::string_view key(size_t i) const { return At(index_[i].key, index_[i].key_len); }
  std::string_view value(size_t i) const { return At(index_[i].value, index_[i].value_len); }
  // The first entry at or after `key` (size() when none).
  size_t LowerBound(std::string_view key) const;
  size_t bytes() const { return bytes_.size() + index_.size() * sizeof(Entry) + sizeof(*this); }
  // The shard's "!range" as read with the run (shards.h; nullopt: absent): the same at the
  // same object version, so a confirmed run needs no read of it.
  void SetRange(std::optional<std::string> raw) {
    range_ = std::move(raw);
    range_known_ = true;
  }
  bool range_known() const { return range_known_; }
  const std::optional<std::string>& range() const { return range_; }

 private:
  struct Entry {
    uint32_t key, key_len, value, value_len;
  };
  std::string_view At(uint32_t off, uint32_t len) const { return {bytes_.data() + off, len}; }
  std::string bytes_;
  std::vector<Entry> index_;
  std::optional<std::string> range_;
  bool range_known_ = false;
};

class RangeCache {
 public:
  explicit RangeCache(size_t budget_bytes) : budget_(budget_bytes) {}

  // A cached run of `oid` that holds every entry from `from` on for at least `want` entries,
  // or up to the object's last entry: the run, the position of `from` in it, and the
  // version it must be validated against.
  struct Hit {
    std::shared_ptr<const EntryRun> run;
    size_t pos = 0;
    uint64_t version = 0;
    bool to_end = false;  // nothing in the object follows the run
  };
  std::optional<Hit> Find(const std::string& oid, std::string_view from, size_t want);

  // An omap read of `oid` at `version` found `run`: every entry at or after `from`, up to
  // the run's last entry (to the object's end when `to_end`).
  void Offer(const std::string& oid, uint64_t version, std::string from,
             std::shared_ptr<const EntryRun> run, bool to_end);
  // A validation found `oid` changed (or gone): drop its runs.
  void Changed(const std::string& oid);

  struct Stats {
    uint64_t hits = 0, stale = 0, bytes = 0, runs = 0;
    uint64_t packed = 0;  // listing reads served from listing packs (packs.h)
  };
  Stats stats() const;

  // Whether shard `oid` kept listing packs when last read (packs.h): their generation, ""
  // when it did not, nullopt when not known. A hint: a listing read confirms it.
  std::optional<std::string> PackHint(const std::string& oid) const;
  void SetPackHint(const std::string& oid, std::string_view gen);
  void CountPackedRead() { packed_reads_.fetch_add(1, std::memory_order_relaxed); }

 private:
  struct Run {
    std::string oid, from;
    std::shared_ptr<const EntryRun> entries;
    bool to_end = false;
  };
  using Lru = std::list<Run>;
  struct Object {
    uint64_t version = 0;
    bool changed = false;  // a validation failed since the last read: not quiet yet
    std::map<std::string, Lru::iterator, std::less<>> runs;  // by `from`
  };
  void DropRuns(Object* o);
  void Evict();

  const size_t budget_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Object> objects_;
  Lru lru_;  // most recently used first
  std::atomic<uint64_t> packed_reads_{0};
  mutable std::mutex hints_mu_;
  std::unordered_map<std::string, std::string> pack_hints_;
  size_t bytes_ = 0;
  Stats stats_;
};

}  // namespace sluice::meta
