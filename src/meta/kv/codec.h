// Key and record encodings of the metadata index. The format is specified in
// docs/storage-format.md; change both together.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "meta/api/types.h"

namespace sluice::meta::codec {

// Key spaces (first byte). Bucket names and object keys never contain '\0', so '\0'
// terminates them and preserves UTF-8 binary order.
inline constexpr char kBucket = 'B';
inline constexpr char kObject = 'O';
inline constexpr char kUpload = 'U';
inline constexpr char kPart = 'P';
inline constexpr char kRef = 'R';
inline constexpr char kGc = 'G';
inline constexpr char kConfig = 'C';
inline constexpr char kDoc = 'S';             // server-wide documents: "S" ns "\0" name
inline constexpr char kCompleted = 'D';       // "D" upload-id: a completed upload's answer
inline constexpr char kCompletedByAge = 'T';  // "T" completed (u64 BE) upload-id: empty
inline constexpr char kVersion = 'V';  // "V" bucket "\0" key "\0" ~micros (u64 BE) rand (u64 BE)
inline constexpr char kNullVersion = 'N';   // "N" bucket "\0" key: the null version's stamp
inline constexpr char kLatestMarker = 'M';  // "M" bucket "\0" key: stamp of a latest marker
inline constexpr char kSnapshotOf = 'Z';    // "Z" source "\0" snapshot: the snapshot's instant
inline constexpr char kMember = 'I';        // "I" data-id "\0" name: a tar member (offset, size)
// "u" bucket "\0" ("0" | "d" writer seq): a bucket's usage counts. Lowercase, so it sorts after
// every other key space: as 'A', just before the bucket records, it made each bucket lookup
// cost 2.6x as many instructions in RocksDB's memtable (callgrind, BENCHMARKS.md "Metrics").
inline constexpr char kUsage = 'u';
inline constexpr char kReplication = 'Q';  // "Q" bucket "\0" micros rand (u64 BE) key: queued

std::string BucketKey(std::string_view bucket);
std::string ObjectPrefix(std::string_view bucket);  // "O" bucket "\0"
std::string ObjectKey(std::string_view bucket, std::string_view key);
std::string UploadPrefix(std::string_view bucket);  // "U" bucket "\0"
std::string UploadKey(std::string_view bucket, std::string_view key, std::string_view upload_id);
std::string PartPrefix(std::string_view upload_id);
std::string PartKey(std::string_view upload_id, uint32_t part);
std::string RefKey(std::string_view data_id);
// A tar object's member table, under the data id of its first segment.
std::string MemberPrefix(std::string_view data_id);  // "I" data-id "\0"
std::string MemberKey(std::string_view data_id, std::string_view name);
std::string EncodeMember(const TarEntry& e);
Status DecodeMember(std::string_view name, std::string_view in, TarEntry* e);
std::string GcKey(std::string_view data_id);
std::string ConfigPrefix(std::string_view bucket);  // "C" bucket "\0"
std::string ConfigKey(std::string_view bucket, std::string_view name);
std::string DocPrefix(std::string_view ns);  // "S" ns "\0"
std::string DocKey(std::string_view ns, std::string_view name);
std::string VersionPrefix(std::string_view bucket);                           // "V" bucket "\0"
std::string VersionKeyPrefix(std::string_view bucket, std::string_view key);  // ... key "\0"
// The version's place: newest (largest micros) first within a key.
std::string VersionKey(std::string_view bucket, std::string_view key, const VersionId& v);
inline constexpr size_t kVersionStampSize = 16;
std::string NullVersionKey(std::string_view bucket, std::string_view key);
std::string LatestMarkerKey(std::string_view bucket, std::string_view key);
std::string SnapshotPrefix(std::string_view source);  // "Z" source "\0"
std::string SnapshotKey(std::string_view source, std::string_view name);
// A queued replication of version `v` of `key`: ordered by the version's time.
std::string ReplicationPrefix(std::string_view bucket);  // "Q" bucket "\0"
std::string ReplicationKey(std::string_view bucket, const VersionId& v, std::string_view key);
// The value: "t" when only the tags are to be sent, then "n" or "v" (whether the version is
// the null one: its stamp cannot tell), then "." and a count of the changes queued on top of
// the first (none: absent), so that ending a task can tell whether a newer change came.
std::string EncodeReplication(const VersionId& v, bool tags_only = false, uint64_t changes = 0);
// The task a Q record (its key without the prefix, and its value) stands for.
Status DecodeReplication(std::string_view key_rest, std::string_view value, ReplicationTask* t);
// A bucket's usage: the sum of every record under UsagePrefix, the folded base and the
// deltas commits added since (a delta: "d", the writer's id, a sequence number, u64 BE).
std::string UsagePrefix(std::string_view bucket);  // "u" bucket "\0"
std::string UsageBaseKey(std::string_view bucket);
std::string UsageDeltaKey(std::string_view bucket, std::string_view writer, uint64_t seq);
std::string EncodeUsage(const BucketUsage& u);  // four i64, two's complement u64 BE
Status DecodeUsage(std::string_view in, BucketUsage* u);
std::string EncodeStamp(const VersionId& v);            // the N value: micros, rand (u64 BE each)
Status DecodeStamp(std::string_view in, VersionId* v);  // a null VersionId
std::string CompletedKey(std::string_view upload_id);
std::string CompletedByAgeKey(int64_t completed_micros, std::string_view upload_id);

// The common prefix a listing rolls `key` up into: `prefix` and the rest of the key up to
// and including the first `delimiter` after it; nullopt when the key is listed itself.
std::optional<std::string> CommonPrefixOf(std::string_view key, std::string_view prefix,
                                          std::string_view delimiter);

// The smallest string greater than every string that starts with `prefix`; empty if
// there is none (prefix is all 0xff).
std::string PrefixSuccessor(std::string_view prefix);

std::string EncodeBucket(const BucketInfo& b);
Status DecodeBucket(std::string_view in, BucketInfo* b);
// With inline_elsewhere (the V record of a latest version whose O record holds the same
// version), the inline bytes are left out and a flag says where they are.
std::string EncodeObject(const ObjectMeta& m, bool inline_elsewhere = false);
// With listing_only, stops before tags, inline data and segments (cheaper for listings).
// `inline_elsewhere`, when given, says the record's inline bytes live in the O record.
Status DecodeObject(std::string_view in, ObjectMeta* m, bool listing_only = false,
                    bool* inline_elsewhere = nullptr);
// The leading bytes of an object record that DecodeObject with listing_only reads (nullopt:
// not an object record): what a listing pack keeps of it (meta/rados/packs.h).
std::optional<std::string_view> ObjectListingHead(std::string_view in);
// The listing fields plus version and delete marker, skipping everything else without
// copying it (ListObjectVersions).
Status DecodeObjectSummary(std::string_view in, ObjectMeta* m);
std::string EncodeUpload(const UploadInfo& u);
Status DecodeUpload(std::string_view in, UploadInfo* u);
std::string EncodeCompleted(const CompletedUpload& c);
Status DecodeCompleted(std::string_view in, CompletedUpload* c);
std::string EncodePart(const PartInfo& p);
Status DecodePart(std::string_view in, PartInfo* p);

}  // namespace sluice::meta::codec
