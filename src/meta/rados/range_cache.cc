#include "meta/rados/range_cache.h"

#include <algorithm>

namespace sluice::meta {
namespace {
// Objects remembered without runs (their last version only) before the quiet ones are
// forgotten: a bound on memory when a gateway lists very many buckets.
constexpr size_t kMaxObjects = 65536;
// How far back from the nearest run Find looks for one that covers the request.
constexpr int kRunsTried = 4;
// Shards whose packing is remembered before the hints are dropped and learnt again.
constexpr size_t kMaxHints = 65536;
}  // namespace

void EntryRun::Reserve(size_t entries, size_t bytes) {
  index_.reserve(entries);
  bytes_.reserve(bytes);
}

void EntryRun::Add(std::string_view key, std::string_view value) {
  Entry e{};
  e.key = static_cast<uint32_t>(bytes_.size());
  e.key_len = static_cast<uint32_t>(key.size());
  bytes_.append(key);
  e.value = static_cast<uint32_t>(bytes_.size());
  e.value_len = static_cast<uint32_t>(value.size());
  bytes_.append(value);
  index_.push_back(e);
}

size_t EntryRun::LowerBound(std::string_view key) const {
  size_t lo = 0, hi = index_.size();
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (this->key(mid) < key)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

std::optional<RangeCache::Hit> RangeCache::Find(const std::string& oid, std::string_view from,
                                                size_t want) {
  std::lock_guard<std::mutex> lock(mu_);
  auto o = objects_.find(oid);
  if (o == objects_.end() || o->second.runs.empty()) return std::nullopt;
  auto it = o->second.runs.upper_bound(from);  // the first run starting after `from`
  for (int tried = 0; tried < kRunsTried && it != o->second.runs.begin(); tried++) {
    --it;
    const Run& r = *it->second;
    const size_t pos = r.entries->LowerBound(from);
    const size_t left = r.entries->size() - pos;
    if (left >= want || r.to_end) {
      lru_.splice(lru_.begin(), lru_, it->second);
      stats_.hits++;
      return Hit{r.entries, pos, o->second.version, r.to_end};
    }
  }
  return std::nullopt;
}

void RangeCache::Offer(const std::string& oid, uint64_t version, std::string from,
                       std::shared_ptr<const EntryRun> run, bool to_end) {
  if (!run || budget_ == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto [o, fresh] = objects_.try_emplace(oid);
  Object& obj = o->second;
  if (!fresh && (obj.changed || obj.version != version)) {
    // The object moved since the last read: remember where it is, cache from the next
    // read that finds it still there.
    DropRuns(&obj);
    obj.version = version;
    obj.changed = false;
    return;
  }
  obj.version = version;
  if (run->bytes() > budget_ / 4) return;  // one run never takes most of the budget
  auto existing = obj.runs.find(from);
  if (existing != obj.runs.end()) {
    bytes_ -= existing->second->entries->bytes();
    lru_.erase(existing->second);
    obj.runs.erase(existing);
  }
  bytes_ += run->bytes();
  lru_.push_front(Run{oid, from, std::move(run), to_end});
  obj.runs.emplace(std::move(from), lru_.begin());
  Evict();
  if (objects_.size() > kMaxObjects) {
    for (auto i = objects_.begin(); i != objects_.end();) {
      if (i->second.runs.empty())
        i = objects_.erase(i);
      else
        ++i;
    }
  }
}

void RangeCache::Changed(const std::string& oid) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.stale++;
  auto o = objects_.find(oid);
  if (o == objects_.end()) return;
  DropRuns(&o->second);
  o->second.changed = true;
}

void RangeCache::DropRuns(Object* o) {
  for (auto& [from, it] : o->runs) {
    bytes_ -= it->entries->bytes();
    lru_.erase(it);
  }
  o->runs.clear();
}

void RangeCache::Evict() {
  while (bytes_ > budget_ && !lru_.empty()) {
    Run& victim = lru_.back();
    auto o = objects_.find(victim.oid);
    if (o != objects_.end()) o->second.runs.erase(victim.from);
    bytes_ -= victim.entries->bytes();
    lru_.pop_back();
  }
}

RangeCache::Stats RangeCache::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s = stats_;
  s.bytes = bytes_;
  s.runs = lru_.size();
  s.packed = packed_reads_.load(std::memory_order_relaxed);
  return s;
}

std::optional<std::string> RangeCache::PackHint(const std::string& oid) const {
  std::lock_guard l(hints_mu_);
  auto it = pack_hints_.find(oid);
  if (it == pack_hints_.end()) return std::nullopt;
  return it->second;
}

void RangeCache::SetPackHint(const std::string& oid, std::string_view gen) {
  std::lock_guard l(hints_mu_);
  auto it = pack_hints_.find(oid);
  if (it != pack_hints_.end()) {
    if (it->second != gen) it->second.assign(gen);
    return;
  }
  if (pack_hints_.size() >= kMaxHints) pack_hints_.clear();  // bounded: hints are re-learnt
  pack_hints_.emplace(oid, std::string(gen));
}

}  // namespace sluice::meta
