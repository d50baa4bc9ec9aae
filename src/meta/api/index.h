// The metadata index interface, in S3 terms.
//
// Contract for every implementation:
// - Each mutating call is one atomic step: after a crash either all of it or none of it is
//   visible. With sync set it is durable before the call returns.
// - Data ids: a call that makes the index reference a data id records that reference; a
//   call that stops referencing one moves it to the GC queue in the same atomic step and
//   reports it in `released`. Recovery uses IsReferenced and PendingGc to delete orphaned
//   data (see docs/storage-format.md).
// - A mutation that fails with kServiceUnavailable may or may not have committed (a
//   network backend's operation timed out); callers must not delete data it would have
//   referenced, and leave it to recovery (IsReferenced). Any other error: nothing committed.
// - Reads see every completed write at once.
// - Thread-safe: any thread may call any method.
// - Calls block (a local KV's fsync, a network round trip). The S3 layer never calls them
//   directly on an I/O thread: it awaits AsyncIndex (async_index.h), which runs each call
//   inline or on the blocking pool as blocking() says.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "meta/api/types.h"

namespace sluice::meta {

// How long a completed multipart upload's answer is kept for a repeated Complete: 24 hours
// (SDKs retry a lost Complete within minutes; docs/compatibility.md says so too).
inline constexpr int64_t kCompletedUploadRetentionMicros = 24LL * 3600 * 1000000;

class Index {
 public:
  virtual ~Index() = default;

  // Which calls may wait on a device or the network. Reads are the Get*, List* and
  // IsReferenced calls; writes are the rest. The default is the safe one: everything blocks.
  struct Blocking {
    bool reads = true;
    bool writes = true;
  };
  virtual Blocking blocking() const { return {}; }

  // Buckets.
  virtual Status CreateBucket(const BucketInfo& info) = 0;           // kBucketAlreadyOwnedByYou
  virtual Result<BucketInfo> GetBucket(const BucketName& name) = 0;  // kNoSuchBucket
  // kBucketNotEmpty while any object version or delete marker remains.
  virtual Status DeleteBucket(const BucketName& name) = 0;
  virtual Result<std::vector<BucketInfo>> ListBuckets() = 0;
  // Enabled or Suspended (kInvalidArgument for kUnversioned). Serialised with every write
  // to the bucket: a write sees the state before or after, never a mix.
  virtual Status SetBucketVersioning(const BucketName& bucket, Versioning state) = 0;
  // Enables Object Lock (the bucket's versioning must be Enabled, else kInvalidBucketState)
  // and sets its default retention. Suspending versioning is then refused.
  virtual Status SetBucketObjectLock(const BucketName& bucket, const ObjectLockConfig& lock) = 0;

  // What the bucket holds (BucketUsage), read from counts every change keeps exact (never a
  // scan of the bucket). kNoSuchBucket; kNotImplemented from an index that keeps none.
  virtual Result<BucketUsage> GetBucketUsage(const BucketName& bucket) {
    return Status(Err::kNotImplemented, "this index keeps no usage of " + bucket.str());
  }
  // Counts the bucket's usage from its records, once, for an index written before usage was
  // kept (server/usage.cc): the one scan, replacing whatever usage records it had.
  virtual Status RecountUsage(const BucketName& bucket) {
    return Status(Err::kNotImplemented, "this index keeps no usage of " + bucket.str());
  }

  // Snapshots (docs/snapshots.md): bucket `name` becomes a read-only view of `source` as of
  // `at_micros`, in O(1) (two records; nothing is copied). kBucketAlreadyExists when the
  // name is taken; kInvalidBucketState unless the source's versioning is Enabled. While a
  // snapshot exists its source cannot be suspended or deleted, and the versions it shows
  // cannot be removed (kVersionHeld). DeleteSnapshot releases them.
  virtual Status CreateSnapshot(const BucketName& source, const BucketName& name, int64_t at_micros,
                                const std::string& owner) = 0;
  virtual Status DeleteSnapshot(const BucketName& name) = 0;  // kInvalidRequest: not one
  // The version of `key` a view at `at_micros` shows: the newest with micros <= at_micros;
  // kNoSuchKey when there is none or it is a delete marker.
  virtual Result<ObjectMeta> GetObjectAsOf(const BucketName& source, const ObjectKey& key,
                                           int64_t at_micros) = 0;

  // A bucket's configuration documents (CORS, policy, ACL ...), one per name, opaque here.
  // Get: kNotFound when unset; all: kNoSuchBucket when the bucket is gone. DeleteBucket
  // removes them with the bucket.
  virtual Status PutBucketConfig(const BucketName& bucket, const std::string& name,
                                 const std::string& doc) = 0;
  virtual Result<std::string> GetBucketConfig(const BucketName& bucket,
                                              const std::string& name) = 0;
  virtual Status DeleteBucketConfig(const BucketName& bucket, const std::string& name) = 0;

  // Server-wide documents outside any bucket (users, access keys, policies, sessions),
  // grouped in namespaces; opaque here. WriteDocs applies every write atomically.
  struct DocWrite {
    std::string ns, name;
    std::optional<std::string> doc;  // nullopt deletes
  };
  virtual Status WriteDocs(const std::vector<DocWrite>& writes) = 0;
  // Every document of a namespace, ordered by name.
  virtual Result<std::vector<std::pair<std::string, std::string>>> ListDocs(
      const std::string& ns) = 0;

  // Objects and their versions. Mutations fail with kNoSuchBucket when the bucket is gone.
  //
  // GetObject with an empty `version` reads the latest: one lookup when it is an object.
  // When the latest is a delete marker, the marker is returned (meta.delete_marker).
  // kNoSuchKey when the key has no version; kNoSuchVersion when `version` names none.
  virtual Result<ObjectMeta> GetObject(const BucketName& bucket, const ObjectKey& key,
                                       const VersionId& version = {}) = 0;
  // GetObject of the latest version of each of `keys`, answered in their order: a batch
  // (BatchGet) in one call, which a backend whose reads are round trips makes one read.
  virtual std::vector<Result<ObjectMeta>> GetObjects(const BucketName& bucket,
                                                     const std::vector<ObjectKey>& keys) {
    std::vector<Result<ObjectMeta>> out;
    out.reserve(keys.size());
    for (const auto& k : keys) out.push_back(GetObject(bucket, k));
    return out;
  }
  // Writes a new version as the bucket's versioning state says: Enabled adds one named
  // meta.version (its micros raised above the latest version's, so ids sort by time);
  // Suspended and unversioned replace the null version. `cond` applies to the latest.
  // A replica (replication_status REPLICA) in an Enabled bucket keeps meta.version exactly
  // once: kAlreadyExists when that version exists (the same for CompleteUpload, and for a
  // DeleteRequest::replica marker).
  virtual Result<WriteResult> PutObject(const BucketName& bucket, const ObjectKey& key,
                                        const ObjectMeta& meta, const WriteCondition& cond,
                                        std::vector<std::string>* released) = 0;
  // Replace only the tags / the canned ACL of one version (empty: the latest).
  // kMethodNotAllowed for a delete marker. New tags of a version that was replicated
  // (COMPLETED) are queued for replication in the same step (a tags-only task, the version
  // PENDING again); those of a PENDING version replace its queued task (see
  // FinishReplication).
  virtual Status SetObjectTags(const BucketName& bucket, const ObjectKey& key,
                               const VersionId& version, const HeaderList& tags) = 0;
  virtual Status SetObjectAcl(const BucketName& bucket, const ObjectKey& key,
                              const VersionId& version, const std::string& acl) = 0;
  // With an empty `version`: in a versioned bucket adds a delete marker named `marker`
  // (Enabled; its micros raised as for PutObject) or "null" (Suspended, replacing the null
  // version); in an unversioned one removes the object. With a version: removes exactly
  // that version, object or marker, for good. Deleting what does not exist succeeds.
  // Object Lock is enforced here, for every caller: a version under legal hold, or retained
  // past now_micros (COMPLIANCE; GOVERNANCE without bypass_governance), is never removed
  // or replaced: kObjectLocked.
  virtual Result<WriteResult> DeleteObject(const BucketName& bucket, const ObjectKey& key,
                                           const DeleteRequest& request,
                                           std::vector<std::string>* released) = 0;
  // Object Lock on one version (empty: the latest). A retention that is active at
  // now_micros can only be extended in its mode, unless GOVERNANCE is bypassed; COMPLIANCE
  // never yields (kObjectLocked). kInvalidRequest when the bucket has no Object Lock.
  virtual Status SetObjectRetention(const BucketName& bucket, const ObjectKey& key,
                                    const VersionId& version, const Retention& retention,
                                    bool bypass_governance, int64_t now_micros) = 0;
  virtual Status SetObjectLegalHold(const BucketName& bucket, const ObjectKey& key,
                                    const VersionId& version, bool on) = 0;
  // A tar object's members (ObjectMeta::tar_members), by the data id of its first segment:
  // the one named `name` (kNotFound when there is none), and a page of them in name order
  // after `after`. The table lives as long as that data: it goes when the data is
  // collected (GcDone). `key` is the object's: a sharded index keeps the table with it.
  virtual Result<TarEntry> GetMember(const BucketName& bucket, const ObjectKey& key,
                                     const std::string& data_id, const std::string& name) = 0;
  // GetMember of each of `names` in the table of `data_id`, answered in their order: a
  // batch of a shard's samples in one call (one read on a networked index).
  virtual std::vector<Result<TarEntry>> GetMembers(const BucketName& bucket, const ObjectKey& key,
                                                   const std::string& data_id,
                                                   const std::vector<std::string>& names) {
    std::vector<Result<TarEntry>> out;
    out.reserve(names.size());
    for (const auto& n : names) out.push_back(GetMember(bucket, key, data_id, n));
    return out;
  }
  virtual Result<std::vector<TarEntry>> ListMembers(const BucketName& bucket, const ObjectKey& key,
                                                    const std::string& data_id,
                                                    const std::string& after, size_t max) = 0;
  // The latest versions that are objects (never markers), in key order.
  virtual Result<ListPage> ListObjects(const BucketName& bucket, const ListQuery& q) = 0;
  // Every version and marker. A page costs what it returns, however many versions a key has.
  virtual Result<VersionListPage> ListObjectVersions(const BucketName& bucket,
                                                     const VersionListQuery& q) = 0;

  // Multipart uploads.
  virtual Status CreateUpload(const BucketName& bucket, const UploadInfo& info) = 0;
  virtual Result<UploadInfo> GetUpload(const BucketName& bucket, const ObjectKey& key,
                                       const UploadId& upload_id) = 0;  // kNoSuchUpload
  virtual Status PutPart(const BucketName& bucket, const ObjectKey& key, const UploadId& upload_id,
                         const PartInfo& part, std::vector<std::string>* released) = 0;
  // Parts with number > marker, in order, at most max + 1 (0 = all; the extra one tells the
  // caller the list is truncated). kNoSuchUpload when the upload is not (bucket, key)'s.
  virtual Result<std::vector<PartInfo>> ListParts(const BucketName& bucket, const ObjectKey& key,
                                                  const UploadId& upload_id, uint32_t marker,
                                                  uint32_t max) = 0;
  // Publishes `meta` under the upload's key, as PutObject does, and removes the upload.
  // Parts not named in meta.segments are released. In the same atomic write it records the
  // completion (GetCompletedUpload), stamped with meta.mtime_micros, and drops a bounded
  // number of completion records older than kCompletedUploadRetentionMicros before that.
  virtual Result<WriteResult> CompleteUpload(const BucketName& bucket, const ObjectKey& key,
                                             const UploadId& upload_id, const ObjectMeta& meta,
                                             const WriteCondition& cond,
                                             std::vector<std::string>* released) = 0;
  // The record of an upload of `bucket` that completed (kNoSuchUpload when there is none).
  // Records may outlive the retention until a later Complete drops them: callers check
  // completed_micros. The bucket lets an index keep the record with the bucket's own.
  virtual Result<CompletedUpload> GetCompletedUpload(const BucketName& bucket,
                                                     const UploadId& upload_id) = 0;
  virtual Status AbortUpload(const BucketName& bucket, const ObjectKey& key,
                             const UploadId& upload_id, std::vector<std::string>* released) = 0;
  virtual Result<UploadListPage> ListUploads(const BucketName& bucket,
                                             const UploadListQuery& q) = 0;

  // Bucket replication (docs/replication.md). A version or delete marker written with
  // replication_status PENDING (ObjectMeta; DeleteRequest::replicate_marker) is queued in the
  // same atomic step as the write. The queue, in order: at most `max` tasks after the one
  // whose id is `after` (empty: from the start). kNoSuchBucket when the bucket is gone.
  virtual Result<std::vector<ReplicationTask>> ListReplicationQueue(const BucketName& bucket,
                                                                    const std::string& after,
                                                                    size_t max) = 0;
  // Ends `task`: removes it from the queue and, when its version still exists, sets the
  // version's replication_status to `status` (COMPLETED or FAILED), in one atomic step.
  // When a newer change of the version replaced the task while it ran (task.record differs:
  // SetObjectTags on a PENDING version), nothing changes: the newer task stays queued.
  // Ending a task that is no longer queued succeeds and changes nothing. The end need not be
  // durable when this returns (a crash may replay the task; copies are idempotent), but it
  // is atomic, and durable once any later write of the index is.
  virtual Status FinishReplication(const BucketName& bucket, const ReplicationTask& task,
                                   const std::string& status) = 0;
  // Queues an existing version or marker again (status PENDING), for a resync or for
  // objects written before the rule: kNoSuchVersion when it is gone.
  virtual Status QueueReplication(const BucketName& bucket, const ObjectKey& key,
                                  const VersionId& version) = 0;

  // What the server caches from the index, and when it changed: a bucket's record or
  // configuration documents (creation, deletion, versioning, Object Lock, snapshots,
  // policy, ACL, CORS, lifecycle ...), or the server-wide documents of one namespace
  // (users, keys, policies, sessions). Every listener hears every change after it
  // commits, in every process on the same store: in this process before the mutating call
  // returns; from other processes through the backend's own channel (RADOS watch/notify)
  // within a second. `local` says this process made the change. Listeners run on any
  // thread, must be quick, and must not call the index (post the work elsewhere).
  struct Change {
    enum class Kind { kBucket, kDocs };
    Kind kind;
    std::string name;  // the bucket, or the documents' namespace
    bool local = true;
  };
  using ChangeListener = std::function<void(const Change&)>;
  virtual void Subscribe(ChangeListener listener) = 0;

  // Data-id bookkeeping for recovery and garbage collection.
  // Whether a committed record references `data_id`. `owner` is the DataOwner::Encode()
  // the data was created with (storage::DataStore::Create): where the reference would be,
  // so an index without a global reference table looks at one key's versions and one
  // upload's parts. Empty when the store kept none; an index that cannot answer by id
  // alone then says kInvalidArgument (KvIndex can: it keeps a reference record per id).
  virtual Result<bool> IsReferenced(const std::string& data_id, std::string_view owner = {}) = 0;
  virtual Result<std::vector<std::string>> PendingGc(size_t max) = 0;
  virtual Status GcDone(const std::vector<std::string>& data_ids) = 0;
};

}  // namespace sluice::meta
