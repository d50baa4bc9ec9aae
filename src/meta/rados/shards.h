// A bucket's index in range shards on RADOS (issue #18; docs/rados.md, "Range shards").
//
// A bucket's records are spread over shard objects by object key range. The bucket's own
// object (`bucket.<name>`) is the first shard; the others are `bucket.<name>.<id>`. Every
// shard is a whole index for its range: the records of its keys (O, V, N, M, U) and the
// records their commits wrote beside them (P, R, I, D, T, Q, G, u), plus a copy of the
// bucket's record (B) and snapshot holds (Z), which every commit reads in its own
// transaction. Configurations (C) live in the first shard only.
//
// Two reserved omap keys, outside the codec's key spaces (they sort before 'B'):
//   "!shards"  in the first shard: the map, lower bound -> shard object (absent: one shard)
//   "!range"   in each shard: the range it serves and the state of a split under way
//              (absent: the whole key space, serving)
// and the split's log, "!log\0<key>", in a shard being split.
//
// Every read of a shard reads "!range" in the same operation and every write compares it,
// so a gateway whose map is stale learns it at its first read, and a write can never land
// in a range the shard no longer serves.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace sluice::meta::shards {

inline constexpr char kRangeKey[] = "!range";
inline constexpr char kMapKey[] = "!shards";
inline constexpr std::string_view kLogPrefix{"!log\0", 5};

struct Range {
  enum class State : char {
    kServing = 's',    // serves [lo, hi)
    kSplitting = 'p',  // serves [lo, hi); [split_at, hi) is being copied to `target`: log
    kMoved = 'm',      // serves [lo, split_at); [split_at, hi) moved to `target`, whose map
                       // entry may not be written yet
    kBuilding = 'b',   // being filled by a split; serves nothing yet
  };
  std::string lo, hi;  // hi empty: no upper bound
  State state = State::kServing;
  std::string split_at, target;
  int64_t since_micros = 0;  // when the state was entered (a stale split is taken over)
  // Listing packs (packs.h): "" none; 'b' + generation while being built (commits write
  // deltas); 'p' + generation once built (listings read packs and deltas).
  std::string pack;
  bool Packing() const { return pack.size() > 1; }
  bool Packed() const { return pack.size() > 1 && pack[0] == 'p'; }
  std::string_view pack_gen() const {
    return pack.size() > 1 ? std::string_view(pack).substr(1) : std::string_view();
  }

  // Whether the shard serves `key` now.
  bool Serves(std::string_view key) const;
  // Whether a write of `key` must be logged for the split under way.
  bool Logs(std::string_view key) const {
    return state == State::kSplitting && key >= std::string_view(split_at);
  }
  // The range the shard's records cover, moved ones not yet deleted included.
  bool Holds(std::string_view key) const {
    return key >= std::string_view(lo) && (hi.empty() || key < std::string_view(hi));
  }
};

std::string EncodeRange(const Range& r);
Status DecodeRange(std::string_view in, Range* r);
// The range of a shard from its raw "!range" value (nullopt: absent, the whole key space).
Status RangeOf(const std::optional<std::string>& raw, Range* r);

struct Map {
  // Sorted by lower bound; the first is "" (the bucket's own object).
  std::vector<std::pair<std::string, std::string>> shards;
  // The index into `shards` of the shard whose range holds `key`.
  size_t Find(std::string_view key) const;
  // The upper bound of shard i (empty: none).
  std::string UpperOf(size_t i) const { return i + 1 < shards.size() ? shards[i + 1].first : ""; }
};

std::string EncodeMap(const Map& m);
Status DecodeMap(std::string_view in, Map* m);

// The object key a record of kind O, V, N, M or U (or its tail) belongs to; nullopt for the
// other kinds, which are not placed by key.
std::optional<std::string_view> RecordObjectKey(std::string_view record_key);

}  // namespace sluice::meta::shards
