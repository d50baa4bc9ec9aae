// Online splits of a bucket's index shards (issue #18; docs/rados.md, "Range shards").
//
// A shard S serving [lo, hi) over the limit is split at the median key m of its objects:
//   1. (begin) create the upper shard T in state building, serving nothing; then, in one
//      guarded operation on S, enter splitting(m, T): from then on every commit to a key
//      at or above m also writes a log entry "!log\0<key>" in S, in the same operation;
//   2. (copy) copy every record of the keys in [m, hi) from S to T, and what their commits
//      wrote beside them (parts, references, member tables, queued replications), while
//      writes go on; then replay the log: each logged key's records are copied again and
//      its entry removed only if no newer commit logged it meanwhile;
//   3. (fence) in one guarded operation on S, enter moved(m, T): S serves [lo, m) only, so
//      a commit to a key at or above m, which compares S's range, fails and goes back to
//      the map (briefly finding S again, and waiting);
//   4. (finish) replay what is left of the log (nothing new can come), copy the bucket's
//      record and snapshot holds to T, make T serve [m, hi), add T to the map in the first
//      shard (guarded), make S serve [lo, m), and delete S's copies of the moved records.
// Every step is idempotent and recorded in S's "!range", so a split whose gateway died is
// resumed by the next one to take the bucket's lock: from the copy if it died before the
// fence, from the finish after it. Writes to the upper half wait only for step 4, which
// copies what was logged after the last replay.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "io/rados/rados_cluster.h"
#include "meta/kv/codec.h"
#include "meta/rados/omap_ops.h"
#include "meta/rados/rados_index.h"
#include "meta/rados/rados_txn.h"

namespace sluice::meta {

struct RadosIndex::KeySet {
  std::map<std::string, librados::bufferlist> entries;
};

namespace {

using omap::Entries;
using omap::GuardEq;
using omap::kPage;
using omap::kWriteBatch;
using omap::ReadRangeOf;
using omap::ReadRaw;
using omap::Scan;
using omap::SwapRange;

// The whole value of a stored entry (its tail from `tails`), or nullopt.
std::optional<std::string> WholeValue(const std::string& key, const librados::bufferlist& bl,
                                      const Entries& tails) {
  const std::string stored = bl.to_str();
  auto head = RadosTxn::StoredHead(stored);
  if (!head) return std::nullopt;
  std::string v(*head);
  if (RadosTxn::IsSplit(stored)) {
    auto t = tails.find(RadosTxn::TailKey(key));
    if (t == tails.end()) return std::nullopt;
    auto tail = RadosTxn::Unstored(t->second.to_str());
    if (!tail) return std::nullopt;
    v.append(*tail);
  }
  return v;
}

Status WriteGuarded(librados::IoCtx& io, const std::string& oid, const std::string& guard,
                    const std::set<std::string>& rm, const Entries& set) {
  auto flush = [&](const std::set<std::string>& r, const Entries& s) -> Status {
    librados::ObjectWriteOperation op;
    op.assert_exists();
    int cmp_rv = 0;
    GuardEq(&op, shards::kRangeKey, guard, &cmp_rv);
    if (!r.empty()) op.omap_rm_keys(r);
    if (!s.empty()) op.omap_set(s);
    const int rc = io.operate(oid, &op);
    if (rc == -ECANCELED)
      return Status(Err::kServiceUnavailable, "index shard " + oid + " changed state", true);
    return io::RadosStatus(rc, "writing index shard " + oid);
  };
  std::set<std::string> r;
  for (const auto& k : rm) {
    r.insert(k);
    if (r.size() >= kWriteBatch) {
      SLUICE_RETURN_IF_ERROR(flush(r, {}));
      r.clear();
    }
  }
  Entries s;
  for (const auto& [k, v] : set) {
    s.emplace(k, v);
    if (s.size() + r.size() >= kWriteBatch) {
      SLUICE_RETURN_IF_ERROR(flush(r, s));
      r.clear();
      s.clear();
    }
  }
  if (!r.empty() || !s.empty()) SLUICE_RETURN_IF_ERROR(flush(r, s));
  return Status::Ok();
}

}  // namespace

namespace {

// Runs the scans of many prefixes (each up to kPage entries) in one read operation; a
// prefix with more is read on by Scan.
Status ScanMany(librados::IoCtx& io, const std::string& oid,
                const std::vector<std::string>& prefixes, Entries* out) {
  constexpr size_t kPerOp = 128;
  for (size_t at = 0; at < prefixes.size(); at += kPerOp) {
    const size_t end = std::min(prefixes.size(), at + kPerOp);
    librados::ObjectReadOperation op;
    std::vector<Entries> got(end - at);
    std::vector<int> rv(end - at, 0);
    std::unique_ptr<bool[]> more(new bool[end - at]());
    for (size_t i = at; i < end; i++)
      op.omap_get_vals2("", prefixes[i], kPage, &got[i - at], &more[i - at], &rv[i - at]);
    const int r = io.operate(oid, &op, nullptr);
    if (r == -ENOENT) return Status::Ok();
    if (r < 0) return io::RadosStatus(r, "reading index shard " + oid);
    for (size_t i = at; i < end; i++) {
      out->insert(got[i - at].begin(), got[i - at].end());
      if (more[i - at] && !got[i - at].empty()) {
        const std::string& p = prefixes[i];
        SLUICE_RETURN_IF_ERROR(Scan(
            io, oid, got[i - at].rbegin()->first, p, [](const std::string&) { return true; }, out));
      }
    }
  }
  return Status::Ok();
}

}  // namespace

// What the records of `e` (the key records of some keys) name beside them: their tails,
// data references, member tables, parts, and the queued replications of the keys `wanted`
// selects; all added to `e`.
Status RadosIndex::AddSides(const BucketName& bucket, const std::string& oid,
                            const std::function<bool(std::string_view)>& wanted, Entries* e) {
  std::set<std::string> tails;
  for (const auto& [k, v] : *e)
    if (RadosTxn::IsSplit(v.to_str())) tails.insert(RadosTxn::TailKey(k));
  Entries tail_entries;
  SLUICE_RETURN_IF_ERROR(ReadRaw(meta_, oid, tails, &tail_entries));
  std::set<std::string> refs;
  std::vector<std::string> member_prefixes, part_prefixes;
  for (const auto& [k, v] : *e) {
    const char kind = k[0];
    if (kind == codec::kObject || kind == codec::kVersion) {
      auto whole = WholeValue(k, v, tail_entries);
      if (!whole) continue;
      ObjectMeta m;
      if (!codec::DecodeObject(*whole, &m).ok()) continue;
      for (const auto& seg : m.segments) refs.insert(codec::RefKey(seg.data_id));
      if (m.tar_members > 0 && !m.segments.empty())
        member_prefixes.push_back(codec::MemberPrefix(m.segments.front().data_id));
    } else if (kind == codec::kUpload) {
      part_prefixes.push_back(codec::PartPrefix(k.substr(k.rfind('\0') + 1)));
    }
  }
  Entries side;
  SLUICE_RETURN_IF_ERROR(ScanMany(meta_, oid, member_prefixes, &side));
  Entries parts;
  SLUICE_RETURN_IF_ERROR(ScanMany(meta_, oid, part_prefixes, &parts));
  std::set<std::string> part_tails;
  for (const auto& [pk, pv] : parts)
    if (RadosTxn::IsSplit(pv.to_str())) part_tails.insert(RadosTxn::TailKey(pk));
  SLUICE_RETURN_IF_ERROR(ReadRaw(meta_, oid, part_tails, &tail_entries));
  for (const auto& [pk, pv] : parts) {
    auto whole = WholeValue(pk, pv, tail_entries);
    PartInfo p;
    if (whole && codec::DecodePart(*whole, &p).ok() && !p.data_id.empty())
      refs.insert(codec::RefKey(p.data_id));
    side.emplace(pk, pv);
  }
  SLUICE_RETURN_IF_ERROR(ReadRaw(meta_, oid, refs, &side));
  // Queued replications of the keys (ordered by time, not key: the queue is scanned).
  const std::string qp = codec::ReplicationPrefix(bucket.str());
  Entries queued;
  SLUICE_RETURN_IF_ERROR(Scan(
      meta_, oid, qp, qp, [](const std::string&) { return true; }, &queued));
  for (auto& [k, v] : queued) {
    if (k.size() < qp.size() + codec::kVersionStampSize) continue;
    if (wanted(std::string_view(k).substr(qp.size() + codec::kVersionStampSize)))
      side.emplace(k, v);
  }
  std::set<std::string> more_tails;
  for (const auto& [k, v] : side)
    if (RadosTxn::IsSplit(v.to_str()) && !tail_entries.count(RadosTxn::TailKey(k)))
      more_tails.insert(RadosTxn::TailKey(k));
  SLUICE_RETURN_IF_ERROR(ReadRaw(meta_, oid, more_tails, &tail_entries));
  e->insert(side.begin(), side.end());
  e->insert(tail_entries.begin(), tail_entries.end());
  return Status::Ok();
}

Result<RadosIndex::KeySet> RadosIndex::CollectKeys(const BucketName& bucket, const std::string& oid,
                                                   const std::string& lo, const std::string& hi) {
  KeySet out;
  auto in_range = [&](std::string_view okey) { return hi.empty() || okey < std::string_view(hi); };
  for (char kind : {codec::kObject, codec::kVersion, codec::kNullVersion, codec::kLatestMarker,
                    codec::kUpload}) {
    const std::string head = std::string(1, kind) + bucket.str() + std::string(1, '\0');
    SLUICE_RETURN_IF_ERROR(Scan(
        meta_, oid, head + lo, head,
        [&](const std::string& k) {
          auto okey = shards::RecordObjectKey(k);
          return okey && in_range(*okey);
        },
        &out.entries));
  }
  SLUICE_RETURN_IF_ERROR(AddSides(
      bucket, oid,
      [&](std::string_view okey) { return okey >= std::string_view(lo) && in_range(okey); },
      &out.entries));
  return out;
}

Result<RadosIndex::KeySet> RadosIndex::CollectKeysOf(const BucketName& bucket,
                                                     const std::string& oid,
                                                     const std::set<std::string>& keys) {
  KeySet out;
  std::set<std::string> exact;
  std::vector<std::string> prefixes;
  for (const auto& k : keys) {
    exact.insert(codec::ObjectKey(bucket.str(), k));
    exact.insert(codec::NullVersionKey(bucket.str(), k));
    exact.insert(codec::LatestMarkerKey(bucket.str(), k));
    prefixes.push_back(codec::VersionKeyPrefix(bucket.str(), k));
    prefixes.push_back(codec::UploadPrefix(bucket.str()) + k + std::string(1, '\0'));
  }
  SLUICE_RETURN_IF_ERROR(ReadRaw(meta_, oid, exact, &out.entries));
  SLUICE_RETURN_IF_ERROR(ScanMany(meta_, oid, prefixes, &out.entries));
  SLUICE_RETURN_IF_ERROR(AddSides(
      bucket, oid, [&](std::string_view okey) { return keys.count(std::string(okey)) > 0; },
      &out.entries));
  return out;
}

Status RadosIndex::BeginSplit(const BucketName& bucket, const std::string& oid,
                              shards::Range* range, std::string* raw) {
  // The median of the shard's object keys (or, when one key holds most of it, nothing).
  std::vector<std::string> keys;
  for (char kind : {codec::kObject, codec::kVersion}) {
    const std::string head = std::string(1, kind) + bucket.str() + std::string(1, '\0');
    std::string after = head + range->lo;
    Entries exact;
    for (bool more = true; more;) {
      librados::ObjectReadOperation op;
      std::set<std::string> page;
      int rv = 0;
      op.omap_get_keys2(after, kPage, &page, &more, &rv);
      const int r = meta_.operate(oid, &op, nullptr);
      if (r < 0) return io::RadosStatus(r, "reading index shard " + oid);
      bool done = page.empty();
      for (const auto& k : page) {
        if (k.compare(0, head.size(), head) != 0) {
          done = true;
          break;
        }
        auto okey = shards::RecordObjectKey(k);
        if (!okey || !range->Holds(*okey)) {
          done = true;
          break;
        }
        if (keys.empty() || keys.back() != *okey) keys.emplace_back(*okey);
      }
      if (done) break;
      after = *page.rbegin();
    }
    if (keys.size() >= 2) break;
    keys.clear();
  }
  if (keys.size() < 2) {
    spdlog::warn("index shard {} is over its size but holds one key: not split", oid);
    return Status::Ok();
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  const std::string mid = keys[keys.size() / 2];
  const std::string target = BucketObject(bucket) + "." + rnd_->HexString(8);
  shards::Range building;
  building.lo = mid;
  building.hi = range->hi;
  building.state = shards::Range::State::kBuilding;
  building.since_micros = clock_->NowMicros();
  {
    librados::ObjectWriteOperation op;
    op.create(true);
    librados::bufferlist bl;
    bl.append(shards::EncodeRange(building));
    op.omap_set({{shards::kRangeKey, bl}});
    SLUICE_RETURN_IF_ERROR(
        io::RadosStatus(meta_.operate(target, &op), "creating index shard " + target));
  }
  shards::Range splitting = *range;
  splitting.state = shards::Range::State::kSplitting;
  splitting.split_at = mid;
  splitting.target = target;
  splitting.since_micros = clock_->NowMicros();
  const std::string next = shards::EncodeRange(splitting);
  bool swapped = false;
  SLUICE_RETURN_IF_ERROR(SwapRange(meta_, oid, *raw, next, &swapped));
  if (!swapped) {
    meta_.remove(target);
    return Status::Ok();
  }
  spdlog::info("splitting index shard {} at {:?} into {}", oid, mid, target);
  *range = splitting;
  *raw = next;
  return Status::Ok();
}

Status RadosIndex::CopyKeys(const BucketName& bucket, const std::string& from,
                            const std::string& to, const std::string& to_guard,
                            const std::string& lo, const std::string& hi) {
  SLUICE_ASSIGN_OR_RETURN(KeySet keys, CollectKeys(bucket, from, lo, hi));
  return WriteGuarded(meta_, to, to_guard, {}, keys.entries);
}

Status RadosIndex::ReplayLog(const BucketName& bucket, const std::string& oid,
                             const std::string& target, const std::string& target_guard,
                             size_t* left) {
  // The log in batches: each batch's keys are read from both shards in a few operations,
  // the target made to match, and the batch's entries removed unless logged again.
  constexpr size_t kBatch = 256;
  Entries log;
  const std::string lp(shards::kLogPrefix);
  SLUICE_RETURN_IF_ERROR(Scan(
      meta_, oid, lp, lp, [](const std::string&) { return true; }, &log));
  *left = log.size();
  for (auto it = log.begin(); it != log.end();) {
    Entries batch;
    std::set<std::string> keys;
    for (; it != log.end() && batch.size() < kBatch; ++it) {
      batch.emplace(it->first, it->second);
      keys.insert(it->first.substr(lp.size()));
    }
    SLUICE_ASSIGN_OR_RETURN(KeySet now, CollectKeysOf(bucket, oid, keys));
    SLUICE_ASSIGN_OR_RETURN(KeySet had, CollectKeysOf(bucket, target, keys));
    std::set<std::string> rm;
    for (const auto& e : had.entries)
      if (!now.entries.count(e.first)) rm.insert(e.first);
    SLUICE_RETURN_IF_ERROR(WriteGuarded(meta_, target, target_guard, rm, now.entries));
    // Done with the entries unless a newer commit logged a key again meanwhile: all at
    // once, or, when one changed, one by one.
    auto trim = [&](const Entries& entries) {
      librados::ObjectWriteOperation op;
      std::map<std::string, std::pair<librados::bufferlist, int>> cmp;
      std::set<std::string> names;
      for (const auto& [k, token] : entries) {
        cmp.emplace(k, std::make_pair(token, LIBRADOS_CMPXATTR_OP_EQ));
        names.insert(k);
      }
      int cmp_rv = 0;
      op.omap_cmp(cmp, &cmp_rv);
      op.omap_rm_keys(names);
      return meta_.operate(oid, &op);
    };
    int r = trim(batch);
    if (r == -ECANCELED) {
      for (const auto& entry : batch) {
        r = trim(Entries{entry});
        if (r < 0 && r != -ECANCELED) break;
        r = 0;
      }
    }
    if (r < 0) return io::RadosStatus(r, "trimming the split log of " + oid);
  }
  return Status::Ok();
}

Status RadosIndex::FinishSplit(const BucketName& bucket, const std::string& oid,
                               const shards::Range& range, const std::string& raw) {
  const std::string& target = range.target;
  std::string target_raw;
  shards::Range target_range;
  SLUICE_RETURN_IF_ERROR(ReadRangeOf(meta_, target, &target_raw, &target_range));
  if (target_range.state == shards::Range::State::kBuilding) {
    for (;;) {
      size_t left = 0;
      SLUICE_RETURN_IF_ERROR(ReplayLog(bucket, oid, target, target_raw, &left));
      if (left == 0) break;
    }
    // The bucket's record and snapshot holds, as the first shard has them now (the
    // bucket's lock keeps them from changing until the map names the new shard).
    SLUICE_ASSIGN_OR_RETURN(auto map, LoadMap(bucket));
    shards::Map with = *map;
    with.shards.emplace_back("\xff", target);  // any bound: only the copy reads it
    SLUICE_RETURN_IF_ERROR(SyncHeadersLocked(bucket, with));
    shards::Range serving;
    serving.lo = range.split_at;
    serving.hi = range.hi;
    serving.since_micros = clock_->NowMicros();
    bool swapped = false;
    SLUICE_RETURN_IF_ERROR(
        SwapRange(meta_, target, target_raw, shards::EncodeRange(serving), &swapped));
  }
  // The map in the first shard names the new shard.
  const std::string first = BucketObject(bucket);
  for (int attempt = 0;; attempt++) {
    Entries got;
    SLUICE_RETURN_IF_ERROR(ReadRaw(meta_, first, {shards::kMapKey}, &got));
    std::string old_raw;
    shards::Map map;
    if (auto it = got.find(shards::kMapKey); it != got.end()) {
      old_raw = it->second.to_str();
      SLUICE_RETURN_IF_ERROR(shards::DecodeMap(old_raw, &map));
    } else {
      map.shards.emplace_back("", first);
    }
    bool named = false;
    for (const auto& e : map.shards) named |= e.second == target;
    if (named) break;
    map.shards.emplace_back(range.split_at, target);
    std::sort(map.shards.begin(), map.shards.end());
    librados::ObjectWriteOperation op;
    int cmp_rv = 0;
    GuardEq(&op, shards::kMapKey, old_raw, &cmp_rv);
    librados::bufferlist n;
    n.append(shards::EncodeMap(map));
    op.omap_set({{shards::kMapKey, n}});
    const int r = meta_.operate(first, &op);
    if (r == 0) break;
    if (r != -ECANCELED || attempt > 100)
      return io::RadosStatus(r, "writing the shard map of " + bucket.str());
  }
  // The old shard serves its lower half only, and forgets the upper one.
  shards::Range lower;
  lower.lo = range.lo;
  lower.hi = range.split_at;
  lower.since_micros = clock_->NowMicros();
  bool swapped = false;
  SLUICE_RETURN_IF_ERROR(SwapRange(meta_, oid, raw, shards::EncodeRange(lower), &swapped));
  ForgetMap(bucket);
  splits_.fetch_add(1, std::memory_order_relaxed);
  SLUICE_ASSIGN_OR_RETURN(KeySet moved, CollectKeys(bucket, oid, range.split_at, range.hi));
  Entries log;
  const std::string lp(shards::kLogPrefix);
  SLUICE_RETURN_IF_ERROR(Scan(
      meta_, oid, lp, lp, [](const std::string&) { return true; }, &log));
  std::set<std::string> rm;
  for (const auto& e : moved.entries) rm.insert(e.first);
  for (const auto& e : log) rm.insert(e.first);
  std::set<std::string> batch;
  for (const auto& k : rm) {
    batch.insert(k);
    if (batch.size() >= kWriteBatch || k == *rm.rbegin()) {
      librados::ObjectWriteOperation op;
      op.omap_rm_keys(batch);
      SLUICE_RETURN_IF_ERROR(
          io::RadosStatus(meta_.operate(oid, &op), "deleting moved records from " + oid));
      batch.clear();
    }
  }
  spdlog::info("index shard {} split: [{:?}, {:?}) moved to {}", oid, range.split_at, range.hi,
               target);
  // Both halves start without listing packs: build them now, not at their next writes
  // (a half that takes no more writes would be listed entry by entry until then).
  if (split_in_background_) {
    Queue(bucket, oid, false);
    Queue(bucket, target, false);
  }
  return Status::Ok();
}

Status RadosIndex::FinishFenced(const BucketName& bucket, const std::string& oid) {
  std::string raw;
  shards::Range range;
  SLUICE_RETURN_IF_ERROR(ReadRangeOf(meta_, oid, &raw, &range));
  if (range.state != shards::Range::State::kMoved) return Status::Ok();
  return FinishSplit(bucket, oid, range, raw);
}

Status RadosIndex::SplitIfFull(const BucketName& bucket, const std::string& oid) {
  BucketLock lock(this, bucket, /*wait=*/false);
  if (lock.status().code() == Err::kSlowDown) return Status::Ok();  // another is at it
  SLUICE_RETURN_IF_ERROR(lock.status());
  std::string raw;
  shards::Range range;
  SLUICE_RETURN_IF_ERROR(ReadRangeOf(meta_, oid, &raw, &range));
  if (range.state == shards::Range::State::kBuilding) return Status::Ok();
  if (range.state == shards::Range::State::kServing) {
    // Over the limit? Count the shard's entries, up to one past it.
    size_t count = 0;
    std::string after;
    for (bool more = true; more && count <= shard_keys_;) {
      librados::ObjectReadOperation op;
      std::set<std::string> page;
      int rv = 0;
      op.omap_get_keys2(after, std::min<size_t>(shard_keys_ + 1 - count, 100000), &page, &more,
                        &rv);
      const int r = meta_.operate(oid, &op, nullptr);
      if (r == -ENOENT) return Status::Ok();
      if (r < 0) return io::RadosStatus(r, "counting index shard " + oid);
      count += page.size();
      if (page.empty()) break;
      after = *page.rbegin();
    }
    if (count <= shard_keys_) return Status::Ok();
    SLUICE_RETURN_IF_ERROR(BeginSplit(bucket, oid, &range, &raw));
    if (range.state != shards::Range::State::kSplitting) return Status::Ok();
    if (stop_split_after_ == 1) return Status::Ok();
  }
  if (range.state == shards::Range::State::kSplitting) {
    shards::Range building;
    std::string target_raw;
    SLUICE_RETURN_IF_ERROR(ReadRangeOf(meta_, range.target, &target_raw, &building));
    if (building.state != shards::Range::State::kBuilding)
      return Status(Err::kCorruption, "index shard " + range.target + " is not being built");
    SLUICE_RETURN_IF_ERROR(
        CopyKeys(bucket, oid, range.target, target_raw, range.split_at, range.hi));
    // Replays until a round finds little logged since the last: the fence then waits only
    // for that little.
    for (int round = 0; round < 10; round++) {
      if (Stopping()) return Status::Ok();  // resumed by the next lock holder
      size_t left = 0;
      SLUICE_RETURN_IF_ERROR(ReplayLog(bucket, oid, range.target, target_raw, &left));
      if (left < 256) break;
    }
    if (stop_split_after_ == 2) return Status::Ok();
    shards::Range moved = range;
    moved.state = shards::Range::State::kMoved;
    moved.since_micros = clock_->NowMicros();
    const std::string next = shards::EncodeRange(moved);
    bool swapped = false;
    SLUICE_RETURN_IF_ERROR(SwapRange(meta_, oid, raw, next, &swapped));
    if (!swapped) return Status(Err::kInternal, "index shard " + oid + " changed under its split");
    range = moved;
    raw = next;
    if (stop_split_after_ == 3) return Status::Ok();
  }
  return FinishSplit(bucket, oid, range, raw);
}

}  // namespace sluice::meta
