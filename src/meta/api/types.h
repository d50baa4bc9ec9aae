// Metadata records, in S3 terms. Nothing here names a backend: a data segment is an
// opaque id that the DataStore (storage/api) resolves, whether to a local file or a
// RADOS object.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/names.h"
#include "common/tar_index.h"

namespace sluice::meta {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// A bucket's versioning state. It lives in the bucket's record, so a write reads it in the
// same step as the bucket's existence. Once Enabled, a bucket never returns to kUnversioned.
enum class Versioning : uint8_t { kUnversioned = 0, kEnabled = 1, kSuspended = 2 };

// Object Lock on a bucket: once enabled it stays enabled, and the bucket's versioning stays
// Enabled. New versions get the default retention unless their write names one.
struct ObjectLockConfig {
  bool enabled = false;
  std::string default_mode;  // "", "GOVERNANCE" or "COMPLIANCE"
  uint32_t default_days = 0;
  uint32_t default_years = 0;
};

struct BucketInfo {
  BucketName name;
  int64_t created_micros = 0;
  std::string owner;
  std::string region;
  Versioning versioning = Versioning::kUnversioned;
  ObjectLockConfig lock = {};
  // A snapshot is a read-only bucket: the view of `snapshot_of` as of `snapshot_at` (µs).
  std::string snapshot_of = {};
  int64_t snapshot_at = 0;
  // On a source bucket: its newest snapshot's instant. New versions are stamped after it,
  // so a write that raced the snapshot never appears in it.
  int64_t last_snapshot_at = 0;
};

// What a bucket holds, kept exact with every change (docs/storage-format.md, "Usage"):
// current objects (the latest version of each key, when not a delete marker) and their
// bytes, and every stored version (current and noncurrent, markers excluded) and their
// bytes. Parts of uploads in progress are not counted.
struct BucketUsage {
  int64_t objects = 0;
  int64_t bytes = 0;
  int64_t versions = 0;
  int64_t version_bytes = 0;
  bool empty() const { return !objects && !bytes && !versions && !version_bytes; }
  void Add(const BucketUsage& o) {
    objects += o.objects;
    bytes += o.bytes;
    versions += o.versions;
    version_bytes += o.version_bytes;
  }
};

// A version's retention: until `until_micros` it cannot be deleted (GOVERNANCE: unless the
// deleter may and asks to bypass it) and the retention cannot be shortened.
struct Retention {
  std::string mode;  // "", "GOVERNANCE" or "COMPLIANCE"
  int64_t until_micros = 0;
};

// A run of object bytes held by the DataStore under `data_id`.
struct Segment {
  std::string data_id;
  uint64_t size = 0;
  std::string etag;  // the part's MD5 hex for multipart objects, empty otherwise
};

struct ObjectMeta {
  uint64_t size = 0;
  std::string etag;  // without quotes: "<md5hex>" or "<md5hex>-<parts>"
  int64_t mtime_micros = 0;
  std::string content_type;
  // Stored response headers, lowercase names: content-encoding, content-disposition,
  // cache-control, expires, content-language, and x-amz-meta-*.
  HeaderList headers;
  HeaderList tags;
  // Either the bytes are inline (small objects) or they are the concatenation of segments.
  std::string inline_data;
  std::vector<Segment> segments;
  uint32_t parts_count = 0;  // > 0 for objects made by CompleteMultipartUpload
  // Flexible checksum: algorithm name ("CRC32"), base64 value ("…-N" for COMPOSITE), type.
  std::string checksum_algo;
  std::string checksum_value;
  std::string checksum_type;  // "FULL_OBJECT" or "COMPOSITE"
  // Multipart objects: each part's checksum (base64, of checksum_algo), parallel to
  // segments; empty when the parts carried none.
  std::vector<std::string> part_checksums;
  // The canned ACL the object was written with ("public-read", ...); empty = private.
  std::string acl;
  // Which version this is. Empty for an object written while its bucket was unversioned
  // and not touched by a versioned write since (it is the "null" version).
  VersionId version;
  // A delete marker: no bytes, no attributes beyond key, version and mtime.
  bool delete_marker = false;
  // Object Lock: retention and legal hold of this version.
  Retention retention = {};
  bool legal_hold = false;
  // Bucket replication (docs/replication.md): "" (not replicated), "PENDING", "COMPLETED"
  // or "FAILED" on a source version, "REPLICA" on a copy a replication wrote. A write whose
  // meta says PENDING is queued for replication in the same atomic step (ReplicationTask).
  std::string replication_status;
  // An object written or extended by appends (x-amz-write-offset-bytes): the MD5 state of
  // its bytes so far, so the next append hashes only what it adds. Opaque here (the S3
  // layer's); empty for every other object.
  std::string append_state;
  // A tar archive's member table (docs/tar-members.md): how many regular-file members the
  // index holds for this object's bytes, under the data id of its first segment (0: none;
  // an inline object's members are read from its bytes). `members` is the table itself,
  // on a write only: PutObject and CompleteUpload keep it beside the record, in the same
  // atomic step, and reads leave it empty (Index::GetMember, ListMembers read it).
  uint64_t tar_members = 0;
  std::vector<TarEntry> members;
  // Server-side encryption (docs/encryption.md): how this version's bytes are encrypted,
  // opaque here (the S3 layer's s3::SseRecord); empty for a plain object.
  std::string encryption;
};

inline constexpr char kReplicationPending[] = "PENDING";
inline constexpr char kReplicationCompleted[] = "COMPLETED";
inline constexpr char kReplicationFailed[] = "FAILED";
inline constexpr char kReplicationReplica[] = "REPLICA";

// One queued replication: a version (or delete marker) of `key` written with status
// PENDING. Tasks of a bucket come in the order their versions were written, so the
// versions of one key are replicated oldest first.
struct ReplicationTask {
  std::string id;  // opaque, ordered: the position in the bucket's queue
  ObjectKey key;
  VersionId version;
  // Only the version's tags changed after it was copied: the copy's tags are to be set.
  bool tags_only = false;
  // Opaque: which change of the version the task stands for. A change while the task runs
  // (new tags) replaces it, and ending the task then leaves the newer one queued.
  std::string record;
};

// A delete. With an empty `version` it removes the latest (a marker named `marker` in a
// versioned bucket); with one, exactly that version, unless Object Lock protects it.
struct DeleteRequest {
  VersionId version;
  VersionId marker;
  int64_t now_micros = 0;
  bool bypass_governance = false;  // the caller may, and asked to, bypass GOVERNANCE
  // A delete marker this adds is queued for replication (its status PENDING).
  bool replicate_marker = false;
  // The marker is a replica (status REPLICA) of another bucket's, with its id `marker`:
  // kAlreadyExists when that version exists already.
  bool replica = false;
};

// What a write or delete did to the key's versions. `version` is empty in an unversioned
// bucket. For a delete: with no version asked for, delete_marker says a marker was added and
// `version` is its id; with a version asked for, `version` is that id and delete_marker says
// the removed version was a marker.
// Where a reference to a data id can appear once its write commits: an object version of
// bucket/key, or (with `upload`) a part of that upload. Written down with the data when it
// is created (storage::DataStore::Create), so recovery can ask the index about one key
// instead of every key: the form a shared backend needs, with no global reference table to
// update atomically with the object's record (docs/storage-format.md, "Recovery").
struct DataOwner {
  BucketName bucket;
  ObjectKey key;
  UploadId upload;  // empty: an object version
  // bucket NUL key NUL upload: opaque to the data store.
  std::string Encode() const;
  // nullopt unless `s` is an Encode()'s output with valid names.
  static std::optional<DataOwner> Decode(std::string_view s);
};

struct WriteResult {
  VersionId version;
  bool delete_marker = false;
};

struct UploadInfo {
  UploadId upload_id;
  ObjectKey key;
  int64_t initiated_micros = 0;
  std::string content_type;
  HeaderList headers;
  HeaderList tags;
  std::string checksum_algo;  // x-amz-checksum-algorithm of CreateMultipartUpload
  std::string checksum_type;  // "COMPOSITE" or "FULL_OBJECT" when checksum_algo is set
  std::string acl;            // canned ACL for the object Complete publishes
  Retention retention = {};   // Object Lock settings for the object Complete publishes
  bool legal_hold = false;
  std::string encryption;  // as ObjectMeta::encryption: the parts' and the object's
};

// The answer a completed multipart upload gave, kept for a while after completion so that a
// repeated Complete (an SDK retrying one whose reply was lost) gets the same answer.
struct CompletedUpload {
  std::string bucket, key;
  std::string etag;
  VersionId version;
  std::string checksum_algo, checksum_value, checksum_type;
  int64_t completed_micros = 0;
};

struct PartInfo {
  uint32_t number = 0;
  uint64_t size = 0;
  std::string etag;  // MD5 hex, no quotes
  int64_t mtime_micros = 0;
  std::string data_id;
  std::string checksum_algo;   // of this part's checksum, if any
  std::string checksum_value;  // base64
};

struct ListQuery {
  std::string prefix;
  std::string delimiter;
  std::string start_after;  // exclusive; a key or a common prefix returned before
  uint32_t max_keys = 1000;
  // > 0: list the bucket as it was then (a snapshot's view): for each key the newest version
  // with micros <= as_of_micros, when that is an object. Entries then carry meta.version.
  int64_t as_of_micros = 0;
};

struct ListEntry {
  std::string key;
  ObjectMeta meta;  // segments and inline_data are left empty by listings
};

struct ListPage {
  std::vector<ListEntry> objects;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string next_marker;  // last key or prefix returned, when truncated
};

// ListObjectVersions. version_id_marker needs key_marker (the S3 layer checks).
struct VersionListQuery {
  std::string prefix;
  std::string delimiter;
  std::string key_marker;
  VersionId version_id_marker;
  uint32_t max_keys = 1000;
};

struct VersionEntry {
  std::string key;
  ObjectMeta meta;  // meta.version set ("null" for an unversioned object); no bytes
  bool is_latest = false;
};

// Entries in key order, newest first within a key, delete markers among them.
struct VersionListPage {
  std::vector<VersionEntry> entries;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string next_key_marker;
  VersionId next_version_id_marker;  // empty when the page ended on a common prefix
};

struct UploadListQuery {
  std::string prefix;
  std::string delimiter;
  std::string key_marker;
  std::string upload_id_marker;
  uint32_t max_uploads = 1000;
};

struct UploadListPage {
  std::vector<UploadInfo> uploads;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};

// What a write may require of the object it replaces (conditional writes).
struct WriteCondition {
  bool if_none_match_any = false;       // If-None-Match: *
  std::optional<std::string> if_match;  // If-Match: etag (no quotes)
  // An append: the latest must still be the object the append extended, `size` bytes
  // whose last segment is `data_id` (empty: inline or empty). Else kConditionalRequestConflict
  // (another write came between), or kInvalidWriteOffset when there is no object.
  struct Extends {
    uint64_t size = 0;
    std::string data_id;
  };
  std::optional<Extends> if_extends;
};

}  // namespace sluice::meta
