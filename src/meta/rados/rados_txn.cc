#include "meta/rados/rados_txn.h"

#include <algorithm>
#include <cerrno>
#include <set>
#include <utility>

#include "io/rados/rados_cluster.h"
#include "meta/kv/codec.h"
#include "meta/rados/packs.h"

namespace sluice::meta {
namespace {

constexpr char kTag = 'v';         // a whole value (or a tail)
constexpr char kHeadTag = 'h';     // the head of a split value
constexpr char kTailPrefix = '~';  // tails' keys: after every record's kind letter

// The first range read of an iterator fetches a few entries (most seeks want one or two:
// the next version of a key, the first part of an upload); an iterator read past them is
// walking (a listing), and each later read fetches a listing page's worth.
constexpr uint64_t kFirstBatch = 16;
constexpr uint64_t kMaxBatch = 1024;
// Listing packs read at once: packs hold a quarter to a whole --ceph-pack-keys (512 by
// default) each, so six hold a page of 1,000 (the gateway's cache keeps a run only when it
// holds the page). Deltas read at once: a compaction keeps them sparse, and each one read
// beyond the packs' end costs the OSD as much as a record would.
constexpr uint64_t kPacksPerRead = 6;
constexpr uint64_t kDeltasPerRead = 128;

}  // namespace

std::string RadosTxn::Stored(std::string_view value) {
  std::string s;
  s.reserve(value.size() + 1);
  s.push_back(kTag);
  s.append(value);
  return s;
}

std::optional<std::string_view> RadosTxn::Unstored(std::string_view stored) {
  if (stored.empty() || stored[0] != kTag) return std::nullopt;
  return stored.substr(1);
}

std::optional<std::string_view> RadosTxn::StoredHead(std::string_view stored) {
  if (stored.empty() || (stored[0] != kTag && stored[0] != kHeadTag)) return std::nullopt;
  return stored.substr(1);
}

std::string RadosTxn::TailKey(std::string_view key) {
  std::string t(1, kTailPrefix);
  t.append(key);
  return t;
}

Status RadosTxn::Join(std::string_view key, std::string_view stored, std::string* value) const {
  auto head = StoredHead(stored);
  if (!head) return Status(Err::kCorruption, "index object " + oid_ + ": an untagged value");
  value->assign(*head);
  if (!IsSplit(stored)) return Status::Ok();
  auto t = cache_.find(TailKey(key));
  if (t == cache_.end() || !t->second || !Unstored(*t->second))
    return Status(Err::kCorruption, "index object " + oid_ + ": a split value without its tail");
  value->append(*Unstored(*t->second));
  return Status::Ok();
}

RadosTxn::RadosTxn(const librados::IoCtx& io, std::string oid, RangeCache* ranges)
    : oid_(std::move(oid)), ranges_(ranges) {
  io_.dup(io);
}

Status RadosTxn::Fetch(const std::vector<std::string>& keys, uint64_t* version) {
  // A transaction that found its shard wrong or changed reads no more: the call runs
  // again (a prefetch that failed must not leave later reads answering).
  if (conflicted_)
    return Status(Err::kServiceUnavailable, "index object " + oid_ + " changed while read", true);
  std::set<std::string> want;
  for (const auto& k : keys) {
    if (cache_.find(k) == cache_.end()) want.insert(k);
    std::string t = TailKey(k);
    if (cache_.find(t) == cache_.end()) want.insert(std::move(t));
  }
  if (want.empty() && range_read_) return Status::Ok();
  want.insert(shards::kRangeKey);
  librados::ObjectReadOperation op;
  std::map<std::string, librados::bufferlist> out;
  int rv = 0;
  op.omap_get_vals_by_keys(want, &out, &rv);
  int r = io_.operate(oid_, &op, nullptr);
  SawObject(r);
  if (r < 0 && r != -ENOENT) return io::RadosStatus(r, "reading index object " + oid_);
  if (version) *version = io_.get_last_version();
  for (const auto& k : want) {
    auto it = out.find(k);
    if (k == shards::kRangeKey) {
      SLUICE_RETURN_IF_ERROR(
          SawRangeRaw(it == out.end() ? std::nullopt : std::optional(it->second.to_str())));
      continue;
    }
    if (it == out.end()) {
      cache_.emplace(k, std::nullopt);
    } else {
      std::string v = it->second.to_str();
      if (!StoredHead(v))
        return Status(Err::kCorruption, "index object " + oid_ + ": an untagged value");
      if (IsSplit(v)) split_.insert(k);
      cache_.emplace(k, std::move(v));
    }
  }
  return Status::Ok();
}

Status RadosTxn::ReadRange() { return range_read_ ? Status::Ok() : Fetch({}); }

Status RadosTxn::SawRangeRaw(std::optional<std::string> raw) {
  if (conflicted_)
    return Status(Err::kServiceUnavailable, "index object " + oid_ + " changed while read", true);
  if (!range_read_) {
    range_read_ = true;
    range_raw_ = std::move(raw);
    SLUICE_RETURN_IF_ERROR(shards::RangeOf(range_raw_, &range_));
    if (ranges_) ranges_->SetPackHint(oid_, range_.Packed() ? range_.pack_gen() : "");
    if (route_ && !range_.Serves(*route_)) {
      misrouted_ = conflicted_ = true;
      return Status(Err::kServiceUnavailable, "index shard " + oid_ + " does not serve the key",
                    true);
    }
    return Status::Ok();
  }
  if (raw != range_raw_) {
    conflicted_ = true;
    return Status(Err::kServiceUnavailable, "index shard " + oid_ + " changed its range", true);
  }
  return Status::Ok();
}

bool RadosTxn::Visible(std::string_view record_key) const {
  auto k = shards::RecordObjectKey(record_key);
  return !k || range_.Serves(*k);
}

void RadosTxn::Prefetch(const std::vector<std::string>& keys) {
  (void)Fetch(keys);  // a failed prefetch leaves the keys for Get, which reports it
}

Status RadosTxn::Get(std::string_view key, std::string* value) {
  auto it = cache_.find(key);
  if (it == cache_.end()) {
    SLUICE_RETURN_IF_ERROR(Fetch({std::string(key)}));
    it = cache_.find(key);
  }
  guards_.emplace(std::string(key), it->second.value_or(std::string()));
  if (!it->second) return Status(Err::kNotFound, "");
  if (IsSplit(*it->second)) {
    std::string t = TailKey(key);
    auto tail = cache_.find(t);
    guards_.emplace(std::move(t),
                    tail != cache_.end() && tail->second ? *tail->second : std::string());
  }
  return Join(key, *it->second, value);
}

void RadosTxn::SawRange(uint64_t version) {
  if (!range_version_) {
    range_version_ = version;
  } else if (*range_version_ != version) {
    range_torn_ = true;
  }
}

Status RadosTxn::Write(const KvBatch& batch, bool /*sync: RADOS acknowledges durable writes*/) {
  if (written_) return Status(Err::kInternal, "one write per index transaction");
  written_ = true;
  if (batch.empty()) return Status::Ok();
  wrote_ = true;
  SLUICE_RETURN_IF_ERROR(ReadRange());
  if (range_torn_ || conflicted_) {
    conflicted_ = true;
    return Status(Err::kServiceUnavailable, "index object " + oid_ + " changed while read", true);
  }
  // The batch's last word on each key.
  std::map<std::string, std::optional<std::string>> final_state;
  for (const auto& op : batch.ops())
    final_state[op.key] = op.put ? std::optional<std::string>(op.value) : std::nullopt;
  std::map<std::string, librados::bufferlist> sets;
  std::set<std::string> removes;
  for (auto& [k, v] : final_state) {
    const bool had_tail = split_.count(k) > 0;
    if (v && v->size() + 1 > kSplitOver) {
      sets[k].append(std::string(1, kHeadTag));
      sets[k].append(v->data(), kHeadBytes);
      auto& tail = sets[TailKey(k)];
      tail.append(std::string(1, kTag));
      tail.append(v->data() + kHeadBytes, static_cast<unsigned>(v->size() - kHeadBytes));
      continue;
    }
    if (v) {
      sets[k].append(Stored(*v));
    } else {
      removes.insert(k);
    }
    if (had_tail) removes.insert(TailKey(k));
  }
  // A packing shard: each O record written or removed leaves its listing head as a delta.
  if (range_.Packing()) {
    const std::string_view gen = range_.pack_gen();
    for (const auto& [k, v] : final_state) {
      if (k.empty() || k[0] != codec::kObject) continue;
      std::optional<std::string_view> head;
      if (v) {
        head = codec::ObjectListingHead(*v);
        if (!head) return Status(Err::kInternal, "an object record without listing fields");
      }
      sets[packs::DeltaKey(gen, k)].append(packs::DeltaValue(head));
    }
  }
  librados::ObjectWriteOperation op;
  if (saw_present_) {
    op.assert_exists();
  } else {
    op.create(false);
  }
  if (range_version_) op.assert_version(*range_version_);
  // The shard still serves what it served when read (shards.h); a split under way logs
  // the key.
  guards_[shards::kRangeKey] = range_raw_.value_or(std::string());
  if (route_ && range_.Logs(*route_)) {
    sets[std::string(shards::kLogPrefix) + *route_].append(rnd_->HexString(8));
  }
  std::map<std::string, std::pair<librados::bufferlist, int>> cmp;
  int cmp_rv = 0;
  if (!guards_.empty()) {
    for (const auto& [k, v] : guards_) {
      librados::bufferlist bl;
      bl.append(v);
      cmp.emplace(k, std::make_pair(std::move(bl), LIBRADOS_CMPXATTR_OP_EQ));
    }
    op.omap_cmp(cmp, &cmp_rv);
  }
  if (!removes.empty()) op.omap_rm_keys(removes);
  if (!sets.empty()) op.omap_set(sets);
  int r = io_.operate(oid_, &op);
  if (r == -ECANCELED || r == -ERANGE || r == -EOVERFLOW || (r == -ENOENT && saw_present_)) {
    conflicted_ = true;
    return Status(Err::kServiceUnavailable, "index object " + oid_ + " changed while read", true);
  }
  committed_ = r == 0;
  return io::RadosStatus(r, "writing index object " + oid_);
}

// Entries at or after a key, fetched in growing batches. A listing's first read (a batch of
// a page's size) may come from the gateway's RangeCache once the OSD has confirmed the
// cached run's version; what it reads from the OSD it offers to the cache.
class RadosTxnIterator final : public KvIterator {
 public:
  RadosTxnIterator(RadosTxn* txn, bool guarded, size_t first_batch, std::vector<std::string> along,
                   std::string listing)
      : txn_(txn),
        guarded_(guarded),
        first_batch_(std::clamp<uint64_t>(first_batch, kFirstBatch, kMaxBatch)),
        along_(std::move(along)),
        listing_(std::move(listing)) {}

  void Seek(std::string_view key) override {
    SeekFrom(key);
    Settle();
  }
  bool Valid() const override { return status_.ok() && run_ && pos_ < run_->size(); }
  void Next() override {
    Step();
    Settle();
  }

 private:
  void SeekFrom(std::string_view key) {
    // Listing packs: a seek inside the keys the run covers (past a common prefix) reads
    // nothing.
    if (packed_run_ && run_ && status_.ok() && key >= std::string_view(run_from_) &&
        (!more_ || key <= std::string_view(covered_))) {
      pos_ = run_->LowerBound(key);
      if (pos_ == run_->size() && more_) ReadPacks(covered_, /*inclusive=*/false, {});
      return;
    }
    run_.reset();
    pos_ = 0;
    packed_run_ = false;
    const uint64_t batch = first_batch_;
    first_batch_ = kFirstBatch;  // a later Seek (past a common prefix) starts small again
    // The keys the transaction was told its Gets will want come with the first Seek.
    std::vector<std::string> along;
    for (auto& k : std::exchange(along_, {}))
      if (txn_->cache_.find(k) == txn_->cache_.end()) along.push_back(std::move(k));
    along.emplace_back(shards::kRangeKey);  // every read checks the shard's range
    const bool cacheable = txn_->ranges_ && batch > kFirstBatch;
    // A listing in a shard this gateway has not read yet: its range first (a small read),
    // to learn whether a page of records or of packs is to be read.
    if (Listing(key) && !txn_->range_read_ && txn_->ranges_ &&
        !txn_->ranges_->PackHint(txn_->oid_)) {
      along.pop_back();  // Fetch reads the range with them
      status_ = txn_->Fetch(along);
      if (!status_.ok()) return;
      along.assign(1, shards::kRangeKey);
    }
    if (Packed(key)) {
      if (cacheable && FromCache(PackCacheKey(), key, batch, along)) {
        packed_run_ = run_ != nullptr;
        run_from_.assign(key);
        covered_ = run_ && run_->size() > 0 ? std::string(run_->key(run_->size() - 1)) : run_from_;
        return;
      }
      if (ReadPacks(std::string(key), /*inclusive=*/true, along) || !status_.ok()) return;
      // The shard's range (now read) says it is not packed, or packed anew: read the
      // records (what `along` wanted is in the transaction's cache now; the range is
      // compared again).
      along.assign(1, shards::kRangeKey);
      if (txn_->range_.Packed()) {
        gen_.assign(txn_->range_.pack_gen());
        if (ReadPacks(std::string(key), /*inclusive=*/true, along) || !status_.ok()) return;
      }
    }
    if (cacheable && FromCache(txn_->oid_, key, batch, along)) return;
    // omap reads start after a key: read the key itself alongside, in the same operation.
    librados::ObjectReadOperation op;
    std::map<std::string, librados::bufferlist> exact, after, got;
    int rv1 = 0, rv2 = 0, rv3 = 0;
    op.omap_get_vals_by_keys({std::string(key)}, &exact, &rv1);
    op.omap_get_vals2(std::string(key), "", batch, &after, &more_, &rv2);
    op.omap_get_vals_by_keys({along.begin(), along.end()}, &got, &rv3);
    const bool read = Run(&op);
    if (!read && !status_.ok()) return;
    if (!Remember(along, got) || !read) return;
    auto run = ToRun(exact, after);
    if (run) run->SetRange(txn_->range_raw_);  // as this read (the first or the same) saw it
    run_ = run;
    if (run_ && cacheable)
      txn_->ranges_->Offer(txn_->oid_, version_, std::string(key), run_, !more_);
  }
  // Whether a read at `key` should read listing packs: a listing's key, in a shard that
  // the transaction (or, before its first read, the gateway's last read) saw packed.
  bool Listing(std::string_view key) const {
    return !listing_.empty() && key.compare(0, listing_.size(), listing_) == 0;
  }
  bool Packed(std::string_view key) {
    if (!Listing(key)) return false;
    if (txn_->range_read_) {
      if (!txn_->range_.Packed()) return false;
      gen_.assign(txn_->range_.pack_gen());
      return true;
    }
    if (!txn_->ranges_) return false;
    auto hint = txn_->ranges_->PackHint(txn_->oid_);
    if (!hint || hint->empty()) return false;
    gen_ = std::move(*hint);
    return true;
  }
  std::string PackCacheKey() const { return txn_->oid_ + std::string(1, '\0') + gen_; }
  // Reads packs and deltas from `key` (after it, unless `inclusive`), with `along`, in one
  // operation, and merges them into run_; reads on while a read yields no entry. False when
  // the shard, as read, is not packed in generation gen_ (nothing is taken from the read).
  bool ReadPacks(std::string key, bool inclusive, std::vector<std::string> along) {
    const std::string pp = packs::PackPrefix(gen_), dp = packs::DeltaPrefix(gen_);
    run_from_ = inclusive ? key : key + std::string(1, '\0');
    for (;;) {
      run_.reset();
      pos_ = 0;
      if (std::find(along.begin(), along.end(), shards::kRangeKey) == along.end())
        along.emplace_back(shards::kRangeKey);
      librados::ObjectReadOperation op;
      std::map<std::string, librados::bufferlist> exact, pks, dls, got;
      int rv1 = 0, rv2 = 0, rv3 = 0, rv4 = 0;
      bool pmore = false, dmore = false;
      if (inclusive)
        op.omap_get_vals_by_keys({packs::PackKey(gen_, key), packs::DeltaKey(gen_, key)}, &exact,
                                 &rv1);
      op.omap_get_vals2(packs::PackKey(gen_, key), pp, kPacksPerRead, &pks, &pmore, &rv2);
      op.omap_get_vals2(packs::DeltaKey(gen_, key), dp, kDeltasPerRead, &dls, &dmore, &rv3);
      op.omap_get_vals_by_keys({along.begin(), along.end()}, &got, &rv4);
      if (!Run(&op)) return true;  // an error, or no object: no entries
      if (!Remember(along, got)) return true;
      if (!txn_->range_.Packed() || txn_->range_.pack_gen() != gen_) return false;
      if (txn_->ranges_) txn_->ranges_->CountPackedRead();
      along.clear();
      // Packs in key order (the sought key's own first), then the deltas over them; views
      // into what the read returned, keys past the listing's prefix (every record key in
      // a pack or delta starts with it).
      const std::string_view from = std::string_view(key).substr(listing_.size());
      std::vector<packs::EntryView> base;
      std::optional<std::string_view> bound;  // the last record key the read covers
      auto corrupt = [&](const char* what) {
        status_ = Status(Err::kCorruption, "index object " + txn_->oid_ + ": " + what);
        return true;
      };
      for (auto* m : {&exact, &pks}) {
        for (auto& [k, v] : *m) {
          if (k.compare(0, pp.size(), pp) != 0) continue;
          const size_t at = base.size();
          std::string_view prefix;
          status_ = packs::ViewPack(std::string_view(v.c_str(), v.length()), &prefix, &base);
          if (!status_.ok()) return true;
          if (prefix != listing_) return corrupt("a pack of another bucket");
          // Entries before the sought key (the first pack's region starts below it).
          auto keep = std::find_if(base.begin() + static_cast<ptrdiff_t>(at), base.end(),
                                   [&](const packs::EntryView& e) {
                                     return e.suffix > from || (inclusive && e.suffix == from);
                                   });
          base.erase(base.begin() + static_cast<ptrdiff_t>(at), keep);
          if (m != &pks) continue;
          const std::string_view upper = packs::RecordKeyOf(k, pp);
          if (upper.compare(0, listing_.size(), listing_) != 0)
            return corrupt("a pack of another bucket");
          bound = upper.substr(listing_.size());
        }
      }
      if (!pmore) bound.reset();
      struct Delta {
        std::string_view suffix;
        std::optional<std::string_view> head;
      };
      std::vector<Delta> deltas;
      deltas.reserve(dls.size() + 1);
      for (auto* m : {&exact, &dls}) {
        for (auto& [k, v] : *m) {
          if (k.compare(0, dp.size(), dp) != 0) continue;
          const std::string_view rk = packs::RecordKeyOf(k, dp);
          if (rk.compare(0, listing_.size(), listing_) != 0)
            return corrupt("a delta of another bucket");
          Delta d{rk.substr(listing_.size()), std::nullopt};
          if (!packs::ParseDelta(std::string_view(v.c_str(), v.length()), &d.head))
            return corrupt("a bad delta");
          deltas.push_back(d);
        }
      }
      if (dmore && !deltas.empty() && (!bound || deltas.back().suffix < *bound))
        bound = deltas.back().suffix;
      auto run = std::make_shared<EntryRun>();
      size_t bytes = 0;
      for (const auto& e : base) bytes += listing_.size() + e.suffix.size() + e.head.size() + 1;
      run->Reserve(base.size() + deltas.size(), bytes);
      std::string full = listing_, stored;
      auto add = [&](std::string_view suffix, std::string_view head) {
        full.resize(listing_.size());
        full.append(suffix);
        stored.assign(1, kTag);
        stored.append(head);
        run->Add(full, stored);
      };
      size_t i = 0, j = 0;
      for (;;) {
        const bool bi = i < base.size() && (!bound || base[i].suffix <= *bound);
        const bool dj = j < deltas.size() && (!bound || deltas[j].suffix <= *bound);
        if (!bi && !dj) break;
        if (dj && (!bi || deltas[j].suffix <= base[i].suffix)) {
          if (bi && base[i].suffix == deltas[j].suffix) i++;  // the delta is newer
          if (deltas[j].head) add(deltas[j].suffix, *deltas[j].head);
          j++;
        } else {
          add(base[i].suffix, base[i].head);
          i++;
        }
      }
      run->SetRange(txn_->range_raw_);
      more_ = bound.has_value();
      covered_ = bound ? listing_ + std::string(*bound) : std::string();
      run_ = run;
      packed_run_ = true;
      if (txn_->ranges_ && run->size() > 0)
        txn_->ranges_->Offer(PackCacheKey(), version_, run_from_, run_, !more_);
      if (run->size() > 0 || !more_) return true;
      key = covered_;  // nothing in this read (all removed): on from its end
      inclusive = false;
    }
  }
  void Step() {
    if (packed_run_) {
      if (++pos_ < run_->size() || !more_ || !status_.ok()) return;
      const std::string from = std::max(covered_, std::string(run_->key(run_->size() - 1)));
      ReadPacks(from, /*inclusive=*/false, {});
      return;
    }
    if (++pos_ < run_->size() || !more_ || !status_.ok() || run_->size() == 0) return;
    std::string last(run_->key(run_->size() - 1));
    run_.reset();
    pos_ = 0;
    librados::ObjectReadOperation op;
    std::map<std::string, librados::bufferlist> none, after, range;
    int rv = 0, rv2 = 0;
    op.omap_get_vals2(last, "", kMaxBatch, &after, &more_, &rv);
    op.omap_get_vals_by_keys({shards::kRangeKey}, &range, &rv2);
    if (!Run(&op)) return;
    if (!SawRange(range)) return;
    run_ = ToRun(none, after);
  }
  bool SawRange(std::map<std::string, librados::bufferlist>& got) {
    auto it = got.find(shards::kRangeKey);
    status_ =
        txn_->SawRangeRaw(it == got.end() ? std::nullopt : std::optional(it->second.to_str()));
    return status_.ok();
  }
  // Past the records of keys this shard does not serve: those below its range, and those
  // a split moved away and has not deleted yet (each kind's are contiguous, so one seek).
  void Settle() {
    while (Valid() && !txn_->Visible(key())) {
      const std::string_view k = key();
      const std::string_view okey = *shards::RecordObjectKey(k);
      const std::string head(k.substr(0, k.find('\0') + 1));  // kind, bucket, NUL
      const auto& r = txn_->range_;
      SeekFrom(okey < std::string_view(r.lo) ? head + r.lo : codec::PrefixSuccessor(head));
    }
  }

 public:
  std::string_view key() const override { return run_->key(pos_); }
  std::string_view head() const override { return *RadosTxn::StoredHead(run_->value(pos_)); }
  std::string_view value() const override {
    const std::string_view stored = run_->value(pos_);
    if (!RadosTxn::IsSplit(stored)) return *RadosTxn::Unstored(stored);
    // A split value: the tails of this and the next split entries of the run in one read.
    if (txn_->cache_.find(RadosTxn::TailKey(key())) == txn_->cache_.end()) {
      std::vector<std::string> keys;
      for (size_t i = pos_; i < run_->size() && keys.size() < kMaxBatch; i++)
        if (RadosTxn::IsSplit(run_->value(i))) keys.emplace_back(run_->key(i));
      uint64_t version = 0;
      Status s = txn_->Fetch(keys, &version);
      if (s.ok() && guarded_) txn_->SawRange(version);
      if (!s.ok()) {
        status_ = s;
        return {};
      }
    }
    Status s = txn_->Join(key(), stored, &joined_);
    if (!s.ok()) {
      status_ = s;
      return {};
    }
    return joined_;
  }
  Status status() const override { return status_; }

 private:
  // A cached run that holds `batch` entries from `key`, if the OSD confirms its version;
  // the confirming read fetches `along` too. False: read from the OSD.
  bool FromCache(const std::string& cache_key, std::string_view key, uint64_t batch,
                 std::vector<std::string>& along) {
    auto hit = txn_->ranges_->Find(cache_key, key, batch);
    if (!hit) return false;
    // The run carries the shard's range as of its version, which the assert confirms: the
    // range is not read again.
    const bool range_known = hit->run->range_known();
    std::vector<std::string> read = along;  // `along` stays whole for a read from the OSD
    if (range_known)
      read.erase(std::remove(read.begin(), read.end(), shards::kRangeKey), read.end());
    librados::ObjectReadOperation op;
    std::map<std::string, librados::bufferlist> got;
    int rv = 0;
    op.assert_version(hit->version);
    if (!read.empty()) op.omap_get_vals_by_keys({read.begin(), read.end()}, &got, &rv);
    const int r = txn_->io_.operate(txn_->oid_, &op, nullptr);
    if (r == -ERANGE || r == -EOVERFLOW || r == -ENOENT) {
      txn_->ranges_->Changed(cache_key);
      return false;  // changed or gone: the ordinary read says which
    }
    txn_->SawObject(r);
    if (r < 0) {
      status_ = io::RadosStatus(r, "reading index object " + txn_->oid_);
      return true;
    }
    if (guarded_) txn_->SawRange(hit->version);
    if (range_known) {
      status_ = txn_->SawRangeRaw(hit->run->range());
      if (!status_.ok()) return true;
    }
    if (!Remember(read, got, /*range_read=*/!range_known)) return true;
    run_ = std::move(hit->run);
    pos_ = hit->pos;
    more_ = !hit->to_end;  // walking past the run reads on from its last key
    return true;
  }
  bool Run(librados::ObjectReadOperation* op) {
    more_ = false;
    int r = txn_->io_.operate(txn_->oid_, op, nullptr);
    txn_->SawObject(r);
    if (r == -ENOENT) return false;  // no object: no entries
    if (r < 0) {
      status_ = io::RadosStatus(r, "reading index object " + txn_->oid_);
      return false;
    }
    version_ = txn_->io_.get_last_version();
    if (guarded_) txn_->SawRange(version_);
    return true;
  }
  // Tells the transaction what its Gets of `along` will find (absent when not in `got`).
  bool Remember(std::vector<std::string>& along, std::map<std::string, librados::bufferlist>& got,
                bool range_read = true) {
    if (range_read && !SawRange(got)) return false;
    for (auto& k : along) {
      if (k == shards::kRangeKey) continue;
      auto it = got.find(k);
      if (it == got.end()) {
        txn_->cache_.emplace(std::move(k), std::nullopt);
        continue;
      }
      std::string v = it->second.to_str();
      if (!Tagged(v)) return false;
      if (RadosTxn::IsSplit(v)) continue;  // Get reads it with its tail
      txn_->cache_.emplace(std::move(k), std::move(v));
    }
    return true;
  }
  bool Tagged(std::string_view v) {
    if (RadosTxn::StoredHead(v)) return true;
    status_ = Status(Err::kCorruption, "index object " + txn_->oid_ + ": an untagged value");
    return false;
  }
  // `exact` (the sought key, when present) then `after`, in one run.
  std::shared_ptr<EntryRun> ToRun(std::map<std::string, librados::bufferlist>& exact,
                                  std::map<std::string, librados::bufferlist>& after) {
    auto run = std::make_shared<EntryRun>();
    size_t bytes = 0;
    for (const auto* m : {&exact, &after})
      for (const auto& [k, v] : *m) bytes += k.size() + v.length();
    run->Reserve(exact.size() + after.size(), bytes);
    for (auto* m : {&exact, &after}) {
      for (auto& [k, v] : *m) {
        if (!k.empty() && k[0] == kTailPrefix) continue;  // tails are read with their value
        std::string_view sv(v.c_str(), v.length());       // c_str makes the list contiguous
        if (!Tagged(sv)) return nullptr;
        if (RadosTxn::IsSplit(sv)) txn_->split_.insert(k);
        run->Add(k, sv);
      }
    }
    return run;
  }

  RadosTxn* txn_;
  bool guarded_;
  uint64_t first_batch_;
  std::vector<std::string> along_;
  std::string listing_;  // ExpectListing's prefix: its keys may come from listing packs
  std::string gen_;      // the packs' generation
  bool packed_run_ = false;
  std::string run_from_;  // a packed run holds every listed key from here...
  std::string covered_;   // ...to here (included) when more_, to the end otherwise
  std::shared_ptr<const EntryRun> run_;
  size_t pos_ = 0;
  bool more_ = false;
  uint64_t version_ = 0;
  mutable std::string joined_;  // value() of a split entry
  mutable Status status_;
};

std::unique_ptr<KvIterator> RadosTxn::NewIterator() {
  const size_t first = std::exchange(next_scan_, 0);
  return std::make_unique<RadosTxnIterator>(this, true, first, std::exchange(scan_along_, {}),
                                            std::exchange(listing_, {}));
}

std::unique_ptr<KvIterator> RadosTxn::NewUnguardedIterator() {
  const size_t first = std::exchange(next_scan_, 0);
  return std::make_unique<RadosTxnIterator>(this, false, first, std::exchange(scan_along_, {}),
                                            std::exchange(listing_, {}));
}

}  // namespace sluice::meta
