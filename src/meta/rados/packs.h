// Listing packs of a range shard (issue #18; docs/storage-format.md, "Listing packs").
//
// A first walk of a bucket on RADOS was bounded by the OSD's cost per omap entry read
// (docs/rados.md, "The first walk"). A packed shard therefore keeps, beside its records, the
// listing heads of its objects (the fields a ListObjects entry shows) several hundred to an
// omap entry, so that a page of 1,000 keys reads two or three entries instead of 1,000:
//   "!k<gen>/<O record key>"  a pack: the heads of the O records in the pack's region,
//                             (the previous pack's key, this key], in key order
//   "!d<gen>/<O record key>"  a delta: the head of that O record as its last commit left
//                             it ('h' + head), or its removal ("x")
// `gen` is the packing's generation (a random token in the shard's "!range"): a rebuild
// starts a new one, and entries of other generations are ignored and deleted.
//
// The invariant: for every key, its delta if it has one, else its entry in a pack (or
// nothing), is the listing head of its O record. Every commit that writes or removes an O
// record of a shard that is packing writes the key's delta in the same guarded operation;
// a compaction moves deltas into packs in one operation that compares each delta it
// removes, so a delta rewritten meanwhile stays. A listing reads packs and deltas from the
// same key in one read operation, and merges them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace sluice::meta::packs {

inline constexpr std::string_view kPackKind = "!k";
inline constexpr std::string_view kDeltaKind = "!d";
inline constexpr char kRemoved[] = "x";

std::string PackPrefix(std::string_view gen);
std::string DeltaPrefix(std::string_view gen);
inline std::string PackKey(std::string_view gen, std::string_view record_key) {
  return PackPrefix(gen).append(record_key);
}
inline std::string DeltaKey(std::string_view gen, std::string_view record_key) {
  return DeltaPrefix(gen).append(record_key);
}
// The record key of a pack or delta key under `prefix`.
inline std::string_view RecordKeyOf(std::string_view key, std::string_view prefix) {
  return key.substr(prefix.size());
}

// A delta's value: the head, or nullopt for a removed record.
std::string DeltaValue(const std::optional<std::string_view>& head);
// Whether `value` is a well-formed delta; *head is the head (nullopt: removed).
bool ParseDelta(std::string_view value, std::optional<std::string_view>* head);

using Entry = std::pair<std::string, std::string>;  // O record key, listing head

// A pack's value. Every entry's record key shares `base` (the bucket's O prefix).
std::string EncodePack(std::string_view base, const std::vector<Entry>& entries);
Status DecodePack(std::string_view in, std::vector<Entry>* entries);
// The same without copies: each entry's record key past `base`, and its head, as views
// into `in`, appended to *out.
struct EntryView {
  std::string_view suffix, head;
};
Status ViewPack(std::string_view in, std::string_view* base, std::vector<EntryView>* out);

}  // namespace sluice::meta::packs
