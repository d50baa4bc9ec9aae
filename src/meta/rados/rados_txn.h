// One optimistic transaction on one RADOS object's omap, seen as a KvStore (issue #18;
// docs/rados.md, "The index").
//
// The RADOS index runs each meta::Index call as KvIndex's logic over one of these: the
// call's reads go to the object (each one remembered), and its one Write becomes a single
// guarded ObjectWriteOperation that the OSD applies only if nothing the call read has
// changed since:
//   - every key read by Get: omap_cmp on its stored value (an absent key compares equal to
//     an empty value, so stored values carry a one-byte tag and are never empty);
//   - any range read by an iterator: assert_version on the object's version as the first
//     range read saw it (a second range read that saw another version fails at once);
//   - the object: assert_exists when a read found it, create otherwise.
// When the OSD refuses (-ECANCELED, -ERANGE, -EOVERFLOW, -ENOENT), conflicted() turns true
// and Write fails; the caller runs the whole call again on a fresh transaction. Atomicity
// and isolation therefore come from the OSD that holds the object, whichever gateway
// writes, and a commit is durable on every replica when Write returns.
//
// Long values (over kSplitOver stored bytes: records with inline object bytes, or many
// parts) are kept in two entries: the key holds the first kHeadBytes (tag 'h') and
// TailKey(key) the rest (tag 'v'). A listing page then reads heads only, whatever the
// objects' sizes (KvIterator::head()); Get and KvIterator::value() join the two, reading
// both in the same operation (Get) or the tails of a whole batch in one (iterators), and
// Get guards both. A write replaces or removes a tail wherever the transaction saw its
// key split; KvIndex reads every object record before it rewrites it, so no tail is left
// behind under a whole value.
//
// A shard that keeps listing packs (packs.h) gets, in the same guarded operation as each
// write or removal of an O record, the record's delta with its listing head; an iterator
// told ExpectListing reads the packs and deltas instead of the records.
//
// Not thread-safe: one transaction belongs to one call on one thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <rados/librados.hpp>
#include <set>
#include <string>
#include <vector>

#include "io/env.h"
#include "meta/kv/kv_store.h"
#include "meta/rados/range_cache.h"
#include "meta/rados/shards.h"

namespace sluice::meta {

class RadosTxn final : public KvStore {
 public:
  // `ranges` (may be null): the gateway's cache of listing runs, shared by its transactions.
  RadosTxn(const librados::IoCtx& io, std::string oid, RangeCache* ranges = nullptr);

  Status Get(std::string_view key, std::string* value) override;
  // Once per transaction. Guarded as above; a refused guard sets conflicted().
  Status Write(const KvBatch& batch, bool sync) override;
  std::unique_ptr<KvIterator> NewIterator() override;
  std::unique_ptr<KvIterator> NewUnguardedIterator() override;
  // Reads every key of `keys` not read yet in one round trip; later Gets answer from it.
  void Prefetch(const std::vector<std::string>& keys) override;
  bool prefetches() const override { return true; }
  // The next iterator's first read fetches this many entries (at most a page of 1,024) and
  // the keys `along`, which later Gets answer from.
  void ExpectScan(size_t entries, std::vector<std::string> along) override {
    next_scan_ = entries;
    scan_along_ = std::move(along);
  }
  // The next iterator serves object records under `prefix` from the shard's listing packs
  // when the shard is packed (packs.h): heads only, and one read per two packs.
  void ExpectListing(std::string_view prefix) override { listing_.assign(prefix); }

  // Whether the call must run again: a guard refused its write, or a read found the object
  // changed. Never once the write has committed (a later read's view cannot undo it).
  bool conflicted() const { return conflicted_ && !committed_; }
  const std::string& oid() const { return oid_; }

  // Range shards (shards.h): every read of the object also reads its "!range", and every
  // write compares it. With Route, the call serves object key `key`: when the shard does
  // not serve it, misrouted() (and conflicted()) turn true and the read fails, so the
  // caller reloads the map and runs again; when a split is logging `key`, the write logs
  // it too, with a random token from `rnd` (unique to the attempt) as the entry's value. Iterators
  // skip the records of keys the shard does not serve (moved ones not yet deleted).
  void Route(std::string key, io::Random* rnd) {
    route_ = std::move(key);
    rnd_ = rnd;
  }
  bool misrouted() const { return misrouted_ && !committed_; }
  // Whether Write was called with something to write.
  bool wrote() const { return wrote_; }
  // The shard's range as the first read saw it (the whole key space when absent).
  const shards::Range& range() const { return range_; }
  // Reads "!range" now if no read has yet.
  Status ReadRange();

  // Stored values carry a tag byte (see above): the stored form of a whole value, and the
  // value of a stored form (nullopt when it lacks the tag, not written by this class, or is
  // the head of a split value).
  static std::string Stored(std::string_view value);
  static std::optional<std::string_view> Unstored(std::string_view stored);
  // The value, or the head of a split one, of a stored form (nullopt when untagged).
  static std::optional<std::string_view> StoredHead(std::string_view stored);
  static bool IsSplit(std::string_view stored) { return !stored.empty() && stored[0] == 'h'; }
  static std::string TailKey(std::string_view key);
  static constexpr size_t kSplitOver = 1024, kHeadBytes = 512;
  // A read found `r` (0 or a negative errno): -ENOENT means the object is absent.
  void SawObject(int r) { (r == -ENOENT ? saw_absent_ : saw_present_) = true; }

 private:
  friend class RadosTxnIterator;
  // Raw stored bytes of `keys` and of their tails, into cache_ (nullopt: absent). The
  // object's version as the read saw it goes to *version.
  Status Fetch(const std::vector<std::string>& keys, uint64_t* version = nullptr);
  // The whole value of `key` from the raw stored main entry and cache_'s tail.
  Status Join(std::string_view key, std::string_view stored, std::string* value) const;
  // A range read saw the object at `version`.
  void SawRange(uint64_t version);
  // A read saw "!range" as `raw` (nullopt: absent): the first fixes range_, a later one
  // that differs means the shard changed under the call (conflicted).
  Status SawRangeRaw(std::optional<std::string> raw);
  // Whether an iterator shows `record_key` (its object key, if any, is served here).
  bool Visible(std::string_view record_key) const;

  librados::IoCtx io_;  // a duplicate: get_last_version() is per IoCtx
  std::string oid_;
  RangeCache* ranges_;
  // Raw stored bytes read so far; nullopt: the key is absent.
  std::map<std::string, std::optional<std::string>, std::less<>> cache_;
  std::map<std::string, std::string, std::less<>> guards_;  // key -> stored bytes ("" absent)
  std::set<std::string, std::less<>> split_;  // keys seen with a tail (a write drops it)
  std::optional<uint64_t> range_version_;
  bool range_torn_ = false;
  bool saw_absent_ = false, saw_present_ = false;
  bool conflicted_ = false;
  bool written_ = false;
  size_t next_scan_ = 0;
  std::vector<std::string> scan_along_;
  std::string listing_;  // ExpectListing's prefix for the next iterator
  std::optional<std::string> route_;
  io::Random* rnd_ = nullptr;  // the log entry's token, drawn only when a split logs
  bool range_read_ = false;
  std::optional<std::string> range_raw_;
  shards::Range range_;
  bool misrouted_ = false;
  bool wrote_ = false;
  bool committed_ = false;
};

}  // namespace sluice::meta
