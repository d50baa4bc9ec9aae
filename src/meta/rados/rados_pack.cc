// Listing packs of range shards: building them and moving deltas into them (issue #18;
// packs.h; docs/storage-format.md, "Listing packs").
//
// Build, under the bucket's lock (so no split runs meanwhile), on a serving shard:
//   1. in one guarded operation, enter packing state 'b' with a new generation: from then
//      on every commit to the shard writes the delta of each O record it changes;
//   2. read the shard's O records in key order, and write their heads as packs of
//      pack_keys each (each guarded on the range);
//   3. enter 'p': listings read packs and deltas from now on; then delete the entries of
//      other generations, which nobody reads.
// A commit during step 2 has left a delta, and a delta wins over a pack, so the packs may
// hold older heads than the records without a listing ever showing one. A build whose
// gateway died leaves 'b'; the next check builds again with a new generation.
//
// Compaction, on a packed shard, needs no lock: it reads the deltas, then the packs of the
// regions they fall in, and in one operation per batch of regions writes the merged packs,
// removes the deltas it merged (each compared with the value it read, so a delta rewritten
// meanwhile fails the operation and stays) and compares the old packs and the range. Two
// gateways compacting at once therefore cannot both succeed on the same deltas.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <set>

#include "io/rados/rados_cluster.h"
#include "meta/kv/codec.h"
#include "meta/rados/omap_ops.h"
#include "meta/rados/packs.h"
#include "meta/rados/rados_index.h"
#include "meta/rados/rados_txn.h"

namespace sluice::meta {
namespace {

using omap::Entries;

// The deltas one compaction reads at most (the rest wait for the next).
constexpr size_t kMaxDeltas = 16384;

std::string_view View(librados::bufferlist& bl) {
  return {bl.c_str(), bl.length()};  // c_str makes the list contiguous
}

// Splits `entries` into packs of at most `per` entries, evenly.
std::vector<std::vector<packs::Entry>> Chunks(std::vector<packs::Entry> entries, size_t per) {
  std::vector<std::vector<packs::Entry>> out;
  if (entries.empty()) return out;
  const size_t n = (entries.size() + per - 1) / per;
  const size_t each = (entries.size() + n - 1) / n;
  for (size_t at = 0; at < entries.size(); at += each) {
    const size_t end = std::min(entries.size(), at + each);
    out.emplace_back(std::make_move_iterator(entries.begin() + static_cast<ptrdiff_t>(at)),
                     std::make_move_iterator(entries.begin() + static_cast<ptrdiff_t>(end)));
  }
  return out;
}

}  // namespace

Status RadosIndex::PackIfNeeded(const BucketName& bucket, const std::string& oid) {
  if (pack_keys_ == 0) return Status::Ok();
  std::string raw;
  shards::Range range;
  SLUICE_RETURN_IF_ERROR(omap::ReadRangeOf(meta_, oid, &raw, &range));
  if (range.state != shards::Range::State::kServing) return Status::Ok();  // after the split
  if (range.Packed()) return CompactPacks(bucket, oid, raw, range);
  // Enough objects to fill a pack?
  const std::string base = codec::ObjectPrefix(bucket.str());
  librados::ObjectReadOperation op;
  std::set<std::string> keys;
  bool more = false;
  int rv = 0;
  op.omap_get_keys2(base + range.lo, pack_keys_, &keys, &more, &rv);
  const int r = meta_.operate(oid, &op, nullptr);
  if (r == -ENOENT) return Status::Ok();
  if (r < 0) return io::RadosStatus(r, "reading index shard " + oid);
  size_t n = 0;
  for (const auto& k : keys) {
    if (k.compare(0, base.size(), base) != 0) break;
    n++;
  }
  if (n < pack_keys_) return Status::Ok();
  BucketLock lock(this, bucket, /*wait=*/false);
  if (lock.status().code() == Err::kSlowDown) return Status::Ok();  // another is at it
  SLUICE_RETURN_IF_ERROR(lock.status());
  return BuildPacks(bucket, oid);
}

Status RadosIndex::BuildPacks(const BucketName& bucket, const std::string& oid) {
  std::string raw;
  shards::Range range;
  SLUICE_RETURN_IF_ERROR(omap::ReadRangeOf(meta_, oid, &raw, &range));
  if (range.state != shards::Range::State::kServing || range.Packed()) return Status::Ok();
  // 1. Commits write deltas from now on.
  const std::string gen = rnd_->HexString(8);
  shards::Range building = range;
  building.pack = "b" + gen;
  const std::string braw = shards::EncodeRange(building);
  bool swapped = false;
  SLUICE_RETURN_IF_ERROR(omap::SwapRange(meta_, oid, raw, braw, &swapped));
  if (!swapped) return Status::Ok();
  // 2. The heads of the shard's O records, a pack at a time.
  const std::string base = codec::ObjectPrefix(bucket.str());
  std::vector<packs::Entry> pack;
  auto flush = [&]() -> Status {
    if (pack.empty()) return Status::Ok();
    librados::ObjectWriteOperation w;
    int cmp_rv = 0;
    omap::GuardEq(&w, shards::kRangeKey, braw, &cmp_rv);
    librados::bufferlist v;
    v.append(packs::EncodePack(base, pack));
    w.omap_set({{packs::PackKey(gen, pack.back().first), v}});
    const int r = meta_.operate(oid, &w);
    if (r == -ECANCELED)
      return Status(Err::kServiceUnavailable, "index shard " + oid + " changed state", true);
    SLUICE_RETURN_IF_ERROR(io::RadosStatus(r, "writing a listing pack of " + oid));
    pack.clear();
    return Status::Ok();
  };
  std::string after = base + range.lo;
  Entries first;
  SLUICE_RETURN_IF_ERROR(omap::ReadRaw(meta_, oid, {after}, &first));
  for (bool more = true, start = true; more; start = false) {
    Entries page;
    if (start) {
      page = std::move(first);
      more = true;
    }
    librados::ObjectReadOperation op;
    Entries got;
    int rv = 0;
    bool m = false;
    op.omap_get_vals2(after, base, omap::kPage, &got, &m, &rv);
    const int r = meta_.operate(oid, &op, nullptr);
    if (r < 0) return io::RadosStatus(r, "reading index shard " + oid);
    more = m && !got.empty();
    page.insert(got.begin(), got.end());
    if (!got.empty()) after = got.rbegin()->first;
    // Heads whose listing fields run past a split record's head need its tail.
    std::set<std::string> tails;
    for (auto& [k, v] : page)
      if (RadosTxn::IsSplit(View(v)) && !codec::ObjectListingHead(*RadosTxn::StoredHead(View(v))))
        tails.insert(RadosTxn::TailKey(k));
    Entries tail_values;
    SLUICE_RETURN_IF_ERROR(omap::ReadRaw(meta_, oid, tails, &tail_values));
    for (auto& [k, v] : page) {
      auto okey = shards::RecordObjectKey(k);
      if (!okey || !range.Holds(*okey)) {  // past the shard's range
        more = false;
        break;
      }
      const std::string_view stored = View(v);
      auto head = RadosTxn::StoredHead(stored);
      if (!head) return Status(Err::kCorruption, "index object " + oid + ": an untagged value");
      std::string whole;
      std::optional<std::string_view> lh = codec::ObjectListingHead(*head);
      if (!lh && RadosTxn::IsSplit(stored)) {
        auto t = tail_values.find(RadosTxn::TailKey(k));
        if (t != tail_values.end() && RadosTxn::Unstored(View(t->second))) {
          whole.assign(*head);
          whole.append(*RadosTxn::Unstored(View(t->second)));
          lh = codec::ObjectListingHead(whole);
        }
      }
      if (!lh) return Status(Err::kCorruption, "index object " + oid + ": a bad object record");
      pack.emplace_back(k, std::string(*lh));
      if (pack.size() >= pack_keys_) SLUICE_RETURN_IF_ERROR(flush());
    }
  }
  SLUICE_RETURN_IF_ERROR(flush());
  // 3. Listings read the packs.
  shards::Range packed = building;
  packed.pack = "p" + gen;
  const std::string praw = shards::EncodeRange(packed);
  SLUICE_RETURN_IF_ERROR(omap::SwapRange(meta_, oid, braw, praw, &swapped));
  if (!swapped) return Status::Ok();
  packs_built_.fetch_add(1, std::memory_order_relaxed);
  // Entries of other generations (an earlier build, or the shard before a split).
  const std::string keep_p = packs::PackPrefix(gen), keep_d = packs::DeltaPrefix(gen);
  for (std::string_view kind : {packs::kPackKind, packs::kDeltaKind}) {
    const std::string prefix(kind);
    std::set<std::string> rm;
    auto flush_rm = [&]() -> Status {
      if (rm.empty()) return Status::Ok();
      librados::ObjectWriteOperation w;
      w.omap_rm_keys(rm);
      rm.clear();
      return io::RadosStatus(meta_.operate(oid, &w), "deleting old listing packs of " + oid);
    };
    SLUICE_RETURN_IF_ERROR(omap::ScanKeys(meta_, oid, prefix, prefix, [&](const std::string& k) {
      if (k.compare(0, keep_p.size(), keep_p) == 0 || k.compare(0, keep_d.size(), keep_d) == 0)
        return Status::Ok();
      rm.insert(k);
      return rm.size() >= omap::kWriteBatch ? flush_rm() : Status::Ok();
    }));
    SLUICE_RETURN_IF_ERROR(flush_rm());
  }
  spdlog::debug("index shard {}: listing packs built (generation {})", oid, gen);
  return Status::Ok();
}

Status RadosIndex::CompactPacks(const BucketName& bucket, const std::string& oid,
                                const std::string& raw, const shards::Range& range) {
  const std::string gen(range.pack_gen());
  const std::string pp = packs::PackPrefix(gen), dp = packs::DeltaPrefix(gen);
  // The deltas first, then the packs: a pack read after a delta is at least as new.
  Entries deltas;
  SLUICE_RETURN_IF_ERROR(omap::Scan(
      meta_, oid, dp, dp, [&](const std::string&) { return deltas.size() < kMaxDeltas; }, &deltas));
  // A region is rewritten once it has gathered 1/16 of a pack in deltas (a few hundred bytes
  // written per commit, amortized), the tail once a quarter of a pack has come.
  const size_t region_at = std::max<size_t>(1, pack_keys_ / 16);
  const size_t tail_at = std::max<size_t>(1, pack_keys_ / 4);
  if (deltas.size() < region_at) return Status::Ok();
  // The packs' upper bounds (record keys), in order.
  std::vector<std::string> uppers;
  SLUICE_RETURN_IF_ERROR(omap::ScanKeys(meta_, oid, pp, pp, [&](const std::string& k) {
    uppers.emplace_back(packs::RecordKeyOf(k, pp));
    return Status::Ok();
  }));
  // Deltas by region: region i is (uppers[i-1], uppers[i]]; uppers.size() is the tail.
  std::map<size_t, std::vector<std::pair<std::string, std::string>>> regions;  // rk, delta
  for (const auto& [k, v] : deltas) {
    std::string rk(packs::RecordKeyOf(k, dp));
    const size_t i =
        static_cast<size_t>(std::lower_bound(uppers.begin(), uppers.end(), rk) - uppers.begin());
    regions[i].emplace_back(std::move(rk), v.to_str());
  }
  // Many deltas in all: every region with any is merged (a page's cost stays bounded).
  const bool all = deltas.size() >= 2 * pack_keys_;
  std::vector<size_t> chosen;
  for (const auto& [i, ds] : regions)
    if (all || ds.size() >= (i == uppers.size() ? tail_at : region_at)) chosen.push_back(i);
  if (chosen.empty()) return Status::Ok();
  std::set<std::string> want;
  for (size_t i : chosen)
    if (i < uppers.size()) want.insert(packs::PackKey(gen, uppers[i]));
  Entries old_packs;
  SLUICE_RETURN_IF_ERROR(omap::ReadRaw(meta_, oid, want, &old_packs));
  const std::string base = codec::ObjectPrefix(bucket.str());
  // One operation per batch of regions.
  size_t at = 0;
  while (at < chosen.size()) {
    librados::ObjectWriteOperation w;
    std::map<std::string, std::pair<librados::bufferlist, int>> cmp;
    std::set<std::string> rm;
    Entries set;
    size_t guarded = 0;
    for (; at < chosen.size() && guarded < omap::kWriteBatch; at++) {
      const size_t i = chosen[at];
      std::vector<packs::Entry> merged;
      std::string old_key;
      if (i < uppers.size()) {
        old_key = packs::PackKey(gen, uppers[i]);
        auto p = old_packs.find(old_key);
        if (p == old_packs.end()) return Status::Ok();  // changed meanwhile: next time
        SLUICE_RETURN_IF_ERROR(packs::DecodePack(View(p->second), &merged));
        librados::bufferlist bl;
        bl.append(View(p->second));
        cmp.emplace(old_key, std::make_pair(std::move(bl), LIBRADOS_CMPXATTR_OP_EQ));
        rm.insert(old_key);
      }
      // Deltas over the pack's entries.
      std::map<std::string, std::string> out;
      for (auto& e : merged) out.emplace(std::move(e.first), std::move(e.second));
      for (const auto& [rk, dv] : regions[i]) {
        std::optional<std::string_view> head;
        if (!packs::ParseDelta(dv, &head))
          return Status(Err::kCorruption, "index object " + oid + ": a bad delta");
        if (head) {
          out[rk] = std::string(*head);
        } else {
          out.erase(rk);
        }
        librados::bufferlist bl;
        bl.append(dv);
        const std::string dk = packs::DeltaKey(gen, rk);
        cmp.emplace(dk, std::make_pair(std::move(bl), LIBRADOS_CMPXATTR_OP_EQ));
        rm.insert(dk);
        guarded++;
      }
      std::vector<packs::Entry> entries;
      entries.reserve(out.size());
      for (auto& [k, v] : out) entries.emplace_back(k, std::move(v));
      auto chunks = Chunks(std::move(entries), pack_keys_);
      for (size_t c = 0; c < chunks.size(); c++) {
        // A region keeps its upper bound (its last pack's key); the tail's packs end at
        // their last keys.
        const std::string upper =
            (i < uppers.size() && c + 1 == chunks.size()) ? uppers[i] : chunks[c].back().first;
        const std::string key = packs::PackKey(gen, upper);
        rm.erase(key);
        librados::bufferlist v;
        v.append(packs::EncodePack(base, chunks[c]));
        set[key] = std::move(v);
      }
    }
    librados::bufferlist rb;
    rb.append(raw);
    cmp.emplace(shards::kRangeKey, std::make_pair(std::move(rb), LIBRADOS_CMPXATTR_OP_EQ));
    int cmp_rv = 0;
    w.assert_exists();
    w.omap_cmp(cmp, &cmp_rv);
    if (!rm.empty()) w.omap_rm_keys(rm);
    if (!set.empty()) w.omap_set(set);
    const int r = meta_.operate(oid, &w);
    if (r == -ECANCELED || r == -ENOENT) return Status::Ok();  // written meanwhile: next time
    SLUICE_RETURN_IF_ERROR(io::RadosStatus(r, "compacting the listing packs of " + oid));
    compactions_.fetch_add(1, std::memory_order_relaxed);
  }
  return Status::Ok();
}

}  // namespace sluice::meta
