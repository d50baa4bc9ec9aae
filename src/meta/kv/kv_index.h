// meta::Index over a sorted KvStore (RocksDB by default).
//
// Concurrency: read-modify-write calls lock a stripe chosen by (bucket, key), and part
// uploads lock a stripe chosen by upload id, so writers to different keys run in parallel
// and their synced batches share one WAL sync (group commit). Object and upload mutations
// hold their bucket's stripe shared; DeleteBucket holds it exclusive, so nothing lands in
// a bucket while it is being deleted. Lock order: bucket, key, upload.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>

#include "common/metrics.h"
#include "io/env.h"
#include "meta/api/index.h"
#include "meta/kv/kv_store.h"

namespace sluice::meta {

class KvIndex final : public Index {
 public:
  static constexpr size_t kStripes = 256;
  // The in-process locks (see the top of this file).
  struct LockStripes {
    std::array<std::shared_mutex, kStripes> bucket;
    std::array<std::mutex, kStripes> key;
    std::array<std::mutex, kStripes> upload;
  };

  // `sync` makes every mutation durable before it returns; tests may turn it off.
  KvIndex(KvStore* kv, bool sync)
      : kv_(kv),
        sync_(sync),
        own_locks_(std::make_unique<LockStripes>()),
        locks_(own_locks_.get()) {}
  // A short-lived view over one transaction of a shared store (the RADOS index makes one per
  // call, over a KvStore whose Write commits only if nothing it read has changed): the
  // semantics are this class's, the atomicity is the store's, and `locks`, shared by every
  // view of one process, only spares that process's writers from conflicting with each other.
  KvIndex(KvStore* kv, bool sync, LockStripes* locks)
      : kv_(kv), sync_(sync), locks_(locks), prefetch_(true) {}

  // Times every synced commit into histogram 0 of `latency` (nanoseconds), for /metrics.
  // Both outlive this index. Call before use.
  void TimeCommits(const io::Clock* clock, metrics::HistogramBlock* latency) {
    commit_clock_ = clock;
    commit_latency_ = latency;
  }

  // Keeps each bucket's usage (GetBucketUsage): a commit that changes object or version
  // records adds one delta record beside them, in the same batch, written blind (no read:
  // writers never conflict over it); reads sum the deltas, and FoldUsage folds them into the
  // base. `writer` makes this process's delta keys unique among all the store's writers
  // (random, per process start); `seq` numbers them (shared by every view of one process;
  // null: this index's own). Call before use.
  void TrackUsage(std::string writer, std::atomic<uint64_t>* seq = nullptr) {
    usage_writer_ = std::move(writer);
    usage_seq_ = seq ? seq : &own_usage_seq_;
  }
  // Reads (a consistent range read) and, on the local store, folds once more than
  // kFoldUsageAfter deltas wait. *deltas (may be null) says how many are waiting.
  Result<BucketUsage> GetBucketUsage(const BucketName& bucket) override;
  Result<BucketUsage> ReadBucketUsage(const BucketName& bucket, size_t* deltas);
  // Folds up to kFoldUsageChunk deltas into the base. It reads them without guarding the
  // range and guards each record it read instead (deltas never change once written), so on
  // a shared store it conflicts only with another fold, never with writers.
  Status FoldUsage(const BucketName& bucket);
  Status RecountUsage(const BucketName& bucket) override;
  static constexpr size_t kFoldUsageAfter = 64;
  static constexpr size_t kFoldUsageChunk = 1000;

  // Reads come from RocksDB's memtable and block cache (a miss is one local pread); a
  // synced write waits for the WAL's fsync.
  Blocking blocking() const override { return {false, sync_}; }

  Status CreateBucket(const BucketInfo& info) override;
  Result<BucketInfo> GetBucket(const BucketName& name) override;
  Status DeleteBucket(const BucketName& name) override;
  // What DeleteBucket would refuse, in its order, without deleting: kNoSuchBucket,
  // kReadOnlySnapshot, kInvalidBucketState (snapshot holds), kBucketNotEmpty.
  Status CheckDeletable(const BucketName& name);
  Result<std::vector<BucketInfo>> ListBuckets() override;
  Status SetBucketVersioning(const BucketName& bucket, Versioning state) override;
  Status SetBucketObjectLock(const BucketName& bucket, const ObjectLockConfig& lock) override;
  Status CreateSnapshot(const BucketName& source, const BucketName& name, int64_t at_micros,
                        const std::string& owner) override;
  Status DeleteSnapshot(const BucketName& name) override;
  Result<ObjectMeta> GetObjectAsOf(const BucketName& source, const ObjectKey& key,
                                   int64_t at_micros) override;
  Status PutBucketConfig(const BucketName& bucket, const std::string& name,
                         const std::string& doc) override;
  Result<std::string> GetBucketConfig(const BucketName& bucket, const std::string& name) override;
  Status DeleteBucketConfig(const BucketName& bucket, const std::string& name) override;
  Status WriteDocs(const std::vector<DocWrite>& writes) override;
  Result<std::vector<std::pair<std::string, std::string>>> ListDocs(const std::string& ns) override;

  Result<ObjectMeta> GetObject(const BucketName& bucket, const ObjectKey& key,
                               const VersionId& version = {}) override;
  // Read one by one, after one KvStore::Prefetch of them all where the store prefetches.
  std::vector<Result<ObjectMeta>> GetObjects(const BucketName& bucket,
                                             const std::vector<ObjectKey>& keys) override;
  Result<WriteResult> PutObject(const BucketName& bucket, const ObjectKey& key,
                                const ObjectMeta& meta, const WriteCondition& cond,
                                std::vector<std::string>* released) override;
  Status SetObjectTags(const BucketName& bucket, const ObjectKey& key, const VersionId& version,
                       const HeaderList& tags) override;
  Status SetObjectAcl(const BucketName& bucket, const ObjectKey& key, const VersionId& version,
                      const std::string& acl) override;
  Result<WriteResult> DeleteObject(const BucketName& bucket, const ObjectKey& key,
                                   const DeleteRequest& request,
                                   std::vector<std::string>* released) override;
  Status SetObjectRetention(const BucketName& bucket, const ObjectKey& key,
                            const VersionId& version, const Retention& retention,
                            bool bypass_governance, int64_t now_micros) override;
  Status SetObjectLegalHold(const BucketName& bucket, const ObjectKey& key,
                            const VersionId& version, bool on) override;
  Result<TarEntry> GetMember(const BucketName& bucket, const ObjectKey& key,
                             const std::string& data_id, const std::string& name) override;
  std::vector<Result<TarEntry>> GetMembers(const BucketName& bucket, const ObjectKey& key,
                                           const std::string& data_id,
                                           const std::vector<std::string>& names) override;
  Result<std::vector<TarEntry>> ListMembers(const BucketName& bucket, const ObjectKey& key,
                                            const std::string& data_id, const std::string& after,
                                            size_t max) override;
  Result<ListPage> ListObjects(const BucketName& bucket, const ListQuery& q) override;
  Result<VersionListPage> ListObjectVersions(const BucketName& bucket,
                                             const VersionListQuery& q) override;

  Status CreateUpload(const BucketName& bucket, const UploadInfo& info) override;
  Result<UploadInfo> GetUpload(const BucketName& bucket, const ObjectKey& key,
                               const UploadId& upload_id) override;
  Status PutPart(const BucketName& bucket, const ObjectKey& key, const UploadId& upload_id,
                 const PartInfo& part, std::vector<std::string>* released) override;
  Result<std::vector<PartInfo>> ListParts(const BucketName& bucket, const ObjectKey& key,
                                          const UploadId& upload_id, uint32_t marker,
                                          uint32_t max) override;
  Result<WriteResult> CompleteUpload(const BucketName& bucket, const ObjectKey& key,
                                     const UploadId& upload_id, const ObjectMeta& meta,
                                     const WriteCondition& cond,
                                     std::vector<std::string>* released) override;
  Result<CompletedUpload> GetCompletedUpload(const BucketName& bucket,
                                             const UploadId& upload_id) override;
  Status AbortUpload(const BucketName& bucket, const ObjectKey& key, const UploadId& upload_id,
                     std::vector<std::string>* released) override;
  Result<UploadListPage> ListUploads(const BucketName& bucket, const UploadListQuery& q) override;

  // Replication queue (kv_replication.cc): Q records beside the bucket's versions.
  Result<std::vector<ReplicationTask>> ListReplicationQueue(const BucketName& bucket,
                                                            const std::string& after,
                                                            size_t max) override;
  Status FinishReplication(const BucketName& bucket, const ReplicationTask& task,
                           const std::string& status) override;
  Status QueueReplication(const BucketName& bucket, const ObjectKey& key,
                          const VersionId& version) override;

  // The record of snapshot `name` of `*src` at `at_micros` (raised to the source's last
  // snapshot), with src->last_snapshot_at moved to it.
  static BucketInfo SnapshotRecord(BucketInfo* src, const BucketName& name, int64_t at_micros,
                                   const std::string& owner);

  // Listeners hear each change inside the mutating call, after it commits.
  void Subscribe(ChangeListener listener) override;
  // Answers by id alone (the R record of the id); `owner` is not needed.
  Result<bool> IsReferenced(const std::string& data_id, std::string_view owner = {}) override;
  Result<std::vector<std::string>> PendingGc(size_t max) override;
  Status GcDone(const std::vector<std::string>& data_ids) override;

 private:
  // kv_->Write, with the batch's usage delta added (TrackUsage), timed when TimeCommits
  // asked for it.
  // `cur`: what the O record of `bucket`/`key` held, read by this call under the key's lock,
  // so the usage delta need not read it again (a RocksDB Get is most of a delta's cost).
  struct Prior {
    const BucketName& bucket;
    const ObjectKey& key;
    const std::optional<ObjectMeta>& cur;
  };
  Status Commit(KvBatch& batch, bool sync, const Prior* prior = nullptr);
  // Adds the usage delta of the O and V records `batch` changes (each compared with what
  // the store holds now, or with `prior`).
  Status AddUsageDelta(KvBatch* batch, const Prior* prior);
  // A version record found in the index: its KV key (O key for an unversioned one) and it.
  struct Found {
    std::string kv_key;
    ObjectMeta meta;
  };
  Status UpdateAttributes(const BucketName& bucket, const ObjectKey& key, const VersionId& version,
                          const std::function<Status(ObjectMeta*)>& change,
                          const std::function<void(KvBatch*)>& also = nullptr);
  // Rewrites one version's record (O copy too when it is the latest) into `batch`, with
  // `change` applied: markers included. kNotFound (nothing written) when it is gone.
  Status RewriteVersion(const BucketName& bucket, const ObjectKey& key, const VersionId& version,
                        const std::function<void(ObjectMeta*)>& change, KvBatch* batch);
  std::shared_mutex& BucketLock(const std::string& bucket);
  std::mutex& KeyLock(const std::string& bucket, const std::string& key);
  std::mutex& UploadLock(const std::string& upload_id);
  Status BucketExists(const BucketName& bucket);
  Status CheckCondition(const std::optional<ObjectMeta>& current, const WriteCondition& cond);
  // Decodes a V record, taking its inline bytes from the O record when it keeps them there
  // (the latest version of a small object: its bytes are stored once).
  Status DecodeVersionRecord(std::string_view value, const BucketName& bucket, const ObjectKey& key,
                             ObjectMeta* m);
  // Tells the store which records a write of `key` reads (bucket, O, M, N).
  void PrefetchKey(const BucketName& bucket, const ObjectKey& key);
  // The O record (the latest version when it is an object), if any.
  Result<std::optional<ObjectMeta>> ReadCurrent(const BucketName& bucket, const ObjectKey& key);
  // The stamp of the key's latest version when that is a delete marker (its M record). The
  // invariant: M exists exactly when the key has versions and the newest is a marker, so a
  // key without an O record needs one point lookup, not an iterator, to know its latest.
  Result<std::optional<VersionId>> LatestMarker(const BucketName& bucket, const ObjectKey& key);
  // The version named `version` (null: through the N pointer, or the unversioned O record).
  Result<std::optional<Found>> FindVersion(const BucketName& bucket, const ObjectKey& key,
                                           const VersionId& version);
  // The micros a new version of the key must exceed, given its O record. Moves an
  // unversioned O record into V as the null version when `migrate` (Enabled buckets).
  Result<uint64_t> PrepareNewVersion(const BucketName& bucket, const ObjectKey& key,
                                     const std::optional<ObjectMeta>& cur, bool migrate,
                                     KvBatch* batch, bool* marker_latest);
  // kVersionHeld when a snapshot of the bucket shows this version of the key.
  Status CheckNotHeld(const BucketName& bucket, const ObjectKey& key, const ObjectMeta& version);
  // The newest V record of `key` at or before `at_micros`, if any; without `with_inline`
  // its inline bytes may be missing (listings and hold checks need none).
  Result<std::optional<Found>> VersionAsOf(const BucketName& bucket, const ObjectKey& key,
                                           int64_t at_micros, bool with_inline = true);
  Result<ListPage> ListObjectsAsOf(const BucketName& bucket, const ListQuery& q);
  // Removes the null version (Suspended writes and deletes replace it); kObjectLocked when
  // Object Lock protects it.
  Status DropNullVersion(const BucketName& bucket, const ObjectKey& key,
                         const std::optional<ObjectMeta>& cur, const DeleteRequest& request,
                         KvBatch* batch, std::vector<std::string>* released);
  // Writes `m` as the key's new latest version as the bucket's state says (O, V, N).
  Result<WriteResult> WriteLatest(const BucketInfo& b, const ObjectKey& key,
                                  const std::optional<ObjectMeta>& cur, ObjectMeta m,
                                  int64_t now_micros, KvBatch* batch,
                                  std::vector<std::string>* released);
  // Releases every part of an upload into `batch` (refs dropped, GC queued).
  Status ReleaseParts(const UploadId& upload_id, KvBatch* batch, std::vector<std::string>* released,
                      const std::vector<std::string>* keep);
  Result<std::vector<PartInfo>> PartsOf(const UploadId& upload_id, uint32_t marker, uint32_t max);
  static void Release(const std::string& id, KvBatch* batch, std::vector<std::string>* released);

  // The mutations that listeners hear of (Subscribe): each public one is its Commit
  // followed, on success, by Notified.
  Status CreateBucketCommit(const BucketInfo& info);
  Status DeleteBucketCommit(const BucketName& name);
  Status SetBucketVersioningCommit(const BucketName& bucket, Versioning state);
  Status SetBucketObjectLockCommit(const BucketName& bucket, const ObjectLockConfig& lock);
  Status CreateSnapshotCommit(const BucketName& source, const BucketName& name, int64_t at_micros,
                              const std::string& owner);
  Status DeleteSnapshotCommit(const BucketName& name);
  Status PutBucketConfigCommit(const BucketName& bucket, const std::string& name,
                               const std::string& doc);
  Status DeleteBucketConfigCommit(const BucketName& bucket, const std::string& name);
  Status WriteDocsCommit(const std::vector<DocWrite>& writes);
  Status Notified(Status committed, Index::Change::Kind kind, const std::string& name);

  KvStore* kv_;
  const io::Clock* commit_clock_ = nullptr;
  std::string usage_writer_;  // empty: usage not kept
  std::atomic<uint64_t> own_usage_seq_{0};
  std::atomic<uint64_t>* usage_seq_ = &own_usage_seq_;
  std::mutex usage_fold_mu_;  // one fold at a time in this process (a shared store guards)
  metrics::HistogramBlock* commit_latency_ = nullptr;
  bool sync_;
  std::mutex listeners_mu_;
  std::vector<ChangeListener> listeners_;
  std::unique_ptr<LockStripes> own_locks_;
  LockStripes* locks_;
  bool prefetch_ = false;  // tell the store what a write will read (views only)
};

}  // namespace sluice::meta
