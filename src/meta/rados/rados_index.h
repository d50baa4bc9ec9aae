// meta::Index on a Ceph RADOS cluster, shared by any number of gateways (issue #18;
// docs/rados.md, "The index").
//
// Layout, in the metadata pool (and the IoCtx's namespace):
//   bucket.<name>  omap: the bucket's records in the local index's encoding (meta/kv/codec.h:
//                  B, C, O, V, N, M, Z, U, P, R, G, D, T, Q, u), values tagged (rados_txn.h);
//                  the first of the bucket's range shards (shards.h), and its shard map
//   bucket.<name>.<id>  the other range shards, made by splits (rados_split.cc)
//   buckets        omap: bucket name -> a token; every bucket that may exist (ListBuckets
//                  confirms each against its own record)
//   docs           omap: the server-wide documents (users, keys, policies, sessions)
//   notify         the watch/notify channel: a committed bucket or documents change is
//                  announced here, and every gateway's Subscribe listeners hear it
//
// Each call is KvIndex's logic over one RadosTxn on one object: its single write is the
// commit point, guarded by the OSD against every record it read, and retried from the
// start when another writer got there first. No gateway holds state another needs.
//
// Every call is a network round trip or more, so blocking() says so.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <rados/librados.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "io/env.h"
#include "meta/api/index.h"
#include "meta/kv/kv_index.h"
#include "meta/rados/range_cache.h"
#include "meta/rados/shards.h"

namespace sluice::meta {

class RadosTxn;

class RadosIndex final : public Index {
 public:
  // `meta` is open on the metadata pool of `rados`; `rnd` names this process in notifies
  // and spreads retries; `clock` dates snapshot holds against kSnapshotHoldGrace;
  // `list_cache_bytes` bounds the listing pages kept in memory (range_cache.h; 0: none).
  // Start() before use.
  static constexpr size_t kDefaultListCacheBytes = size_t{128} << 20;
  // A snapshot hold younger than this is never taken for a stray one: its CreateSnapshot
  // may be between its two writes (and gateways' clocks may differ by that much less).
  static constexpr int64_t kSnapshotHoldGraceMicros = int64_t{5} * 60 * 1000 * 1000;
  RadosIndex(librados::Rados* rados, const librados::IoCtx& meta, io::Random* rnd, io::Clock* clock,
             size_t list_cache_bytes = kDefaultListCacheBytes);
  ~RadosIndex() override;
  // Creates the shared objects when missing and watches for other gateways' changes.
  Status Start();
  // Times every committed transaction into histogram 0 of `latency` (nanoseconds), for
  // /metrics; `latency` outlives this index. Call before use.
  void TimeCommits(metrics::HistogramBlock* latency) { commit_latency_ = latency; }

  Blocking blocking() const override { return {true, true}; }

  Status CreateBucket(const BucketInfo& info) override;
  // A consistent read of the bucket's usage records, then a fold in its own transaction
  // once enough deltas wait (KvIndex::FoldUsage: it conflicts only with another fold).
  Result<BucketUsage> GetBucketUsage(const BucketName& bucket) override;
  Status RecountUsage(const BucketName& bucket) override;
  Result<BucketInfo> GetBucket(const BucketName& name) override;
  Status DeleteBucket(const BucketName& name) override;
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
  // One omap read for the whole batch (the records and their tails), in one transaction.
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
  // One omap read for the whole batch, in one transaction.
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

  // Listeners hear this gateway's changes inside the call (local), other gateways' through
  // the notify object within its round trip.
  void Subscribe(ChangeListener listener) override;
  // Needs the owner: the reference is looked for in the owner's bucket object.
  Result<bool> IsReferenced(const std::string& data_id, std::string_view owner = {}) override;
  Result<std::vector<std::string>> PendingGc(size_t max) override;
  Status GcDone(const std::vector<std::string>& data_ids) override;
  // The queue lives in the bucket's object (Q records), written with the versions.
  Result<std::vector<ReplicationTask>> ListReplicationQueue(const BucketName& bucket,
                                                            const std::string& after,
                                                            size_t max) override;
  Status FinishReplication(const BucketName& bucket, const ReplicationTask& task,
                           const std::string& status) override;
  Status QueueReplication(const BucketName& bucket, const ObjectKey& key,
                          const VersionId& version) override;

  // Range shards (shards.h; docs/rados.md, "Range shards"). A shard holding more than this
  // many omap entries is split, in the background, at its median key. Call before use.
  static constexpr size_t kDefaultShardKeys = 100000;
  // Without `background`, commits never queue a split (tests split with SplitIfFull).
  void SetShardKeys(size_t keys, bool background = true) {
    shard_keys_ = keys < 4 ? 4 : keys;
    split_in_background_ = background;
  }
  // Splits the shard `oid` of `bucket` if it holds more than the limit, or finishes a split
  // of it that a gateway left under way (the background splitter's work; tests call it).
  Status SplitIfFull(const BucketName& bucket, const std::string& oid);
  // The bucket's shard objects, in key order, as its map says now.
  Result<std::vector<std::string>> ShardsOf(const BucketName& bucket);
  // Listing packs (packs.h; docs/storage-format.md, "Listing packs"): a shard holding at
  // least this many objects keeps their listing heads this many to a pack; 0 keeps none.
  static constexpr size_t kDefaultPackKeys = 512;
  void SetPackKeys(size_t keys) { pack_keys_ = keys == 0 ? 0 : std::max<size_t>(keys, 2); }
  // Builds the packs of shard `oid` when it holds enough objects and has none, or moves
  // its deltas into packs where enough have gathered (the background worker's work).
  Status PackIfNeeded(const BucketName& bucket, const std::string& oid);
  uint64_t packs_built() const { return packs_built_.load(std::memory_order_relaxed); }
  uint64_t compactions() const { return compactions_.load(std::memory_order_relaxed); }
  // Returns once every split and pack job queued so far has run (tests).
  void WaitForSplits();
  uint64_t splits() const { return splits_.load(std::memory_order_relaxed); }
  // Test hook: a split stops (as if its gateway died) after step `n` of SplitIfFull (1:
  // begun, 2: copied, 3: fenced); 0 runs it whole.
  void StopSplitsAfterForTest(int n) { stop_split_after_ = n; }

  // How many commits were refused by a guard and run again (tests, metrics).
  uint64_t conflicts() const { return conflicts_.load(std::memory_order_relaxed); }
  // Listing pages served from memory after the OSD confirmed them, and the rest.
  RangeCache::Stats list_cache_stats() const { return ranges_.stats(); }

  static std::string BucketObject(std::string_view bucket);

 private:
  class Watcher;
  struct KeySet;
  // The bucket's lock (cls_lock on its first shard): bucket-level changes and splits take
  // it, so a split never copies headers that are being changed. It lapses after
  // kLockSeconds, so a gateway that died holding it does not hold it for ever.
  class BucketLock {
   public:
    static constexpr int kLockSeconds = 120;
    // Without `wait`, a lock held elsewhere is kSlowDown at once.
    BucketLock(RadosIndex* index, const BucketName& bucket, bool wait);
    ~BucketLock();
    BucketLock(const BucketLock&) = delete;
    BucketLock& operator=(const BucketLock&) = delete;
    const Status& status() const { return status_; }

   private:
    RadosIndex* index_;
    std::string oid_, cookie_;
    bool held_ = false;
    Status status_;
  };
  // Runs `fn(view, txn)` on a fresh transaction on `oid` until it commits without conflict.
  template <class F>
  auto Run(const std::string& oid, F&& fn);
  // The same on the shard of `bucket` that serves `key`, found again whenever the shard
  // says the map was stale.
  template <class F>
  auto RunKey(const BucketName& bucket, const std::string& key, F&& fn);
  template <class F>
  auto Attempts(const std::string* fixed_oid, const BucketName* bucket, const std::string* key,
                F&& fn);
  template <class F>
  Result<bool> AnyFrom(const BucketName& bucket, std::string from, const std::string& prefix,
                       F&& any);
  // RunKey with a call that reports released data ids: appended only once it commits, and
  // remembered (with the shard) for GcDone.
  template <class F>
  auto RunReleasing(const BucketName& bucket, const std::string& key,
                    std::vector<std::string>* released, F&& fn);
  // The bucket's map, cached (a stale one is caught by the shards it names).
  std::shared_ptr<const shards::Map> MapOf(const BucketName& bucket);
  Result<std::shared_ptr<const shards::Map>> LoadMap(const BucketName& bucket);
  void ForgetMap(const BucketName& bucket);
  // Runs `fn(oid)` on every shard of `bucket`, in key order.
  Status EachShard(const BucketName& bucket, const std::function<Status(const std::string&)>& fn);
  // Copies the first shard's bucket record (B) and snapshot holds (Z) to the other shards,
  // under the bucket's lock: after every change of them.
  Status SyncHeaders(const BucketName& bucket);
  Status SyncHeadersLocked(const BucketName& bucket, const shards::Map& map);
  // Counts a commit on `oid`, and queues a size check (and a pack check) every so many.
  void Committed(const BucketName& bucket, const std::string& oid);
  // Queues a job for the background worker: a split check, or a pack check.
  void Queue(const BucketName& bucket, const std::string& oid, bool split);
  // Listing packs (rados_pack.cc), both under the bucket's lock.
  Status BuildPacks(const BucketName& bucket, const std::string& oid);
  Status CompactPacks(const BucketName& bucket, const std::string& oid, const std::string& raw,
                      const shards::Range& range);
  void Splitter();
  bool Stopping() {
    std::lock_guard l(maps_mu_);
    return split_stop_;
  }
  // The split's steps (rados_split.cc).
  Status BeginSplit(const BucketName& bucket, const std::string& oid, shards::Range* range,
                    std::string* raw);
  Status CopyKeys(const BucketName& bucket, const std::string& from, const std::string& to,
                  const std::string& to_guard, const std::string& lo, const std::string& hi);
  Status ReplayLog(const BucketName& bucket, const std::string& oid, const std::string& target,
                   const std::string& target_guard, size_t* left);
  // Finishes the split of `oid` if it is fenced (moved); the caller holds the lock.
  Status FinishFenced(const BucketName& bucket, const std::string& oid);
  Status FinishSplit(const BucketName& bucket, const std::string& oid, const shards::Range& range,
                     const std::string& raw);
  // Every omap entry of `oid` that belongs to the keys in [lo, hi) (hi empty: no bound), or
  // to the keys of `keys`: their records and what the records name.
  Result<KeySet> CollectKeys(const BucketName& bucket, const std::string& oid,
                             const std::string& lo, const std::string& hi);
  Result<KeySet> CollectKeysOf(const BucketName& bucket, const std::string& oid,
                               const std::set<std::string>& keys);
  Status AddSides(const BucketName& bucket, const std::string& oid,
                  const std::function<bool(std::string_view)>& wanted,
                  std::map<std::string, librados::bufferlist>* entries);
  // This process's listeners, then every other gateway's (notify).
  void Changed(Change::Kind kind, const std::string& name);
  void Heard(const std::string& payload);
  // The directory of buckets ("buckets").
  Status ListBucket(const BucketName& name);
  Result<std::vector<std::string>> ListedBuckets();
  Status UnlistBucketIfGone(const BucketName& name);
  // Snapshot holds (Z records) of `source` whose snapshot bucket no longer exists, left by
  // a gateway that died between the two objects CreateSnapshot and DeleteSnapshot write:
  // dropped, so they stop holding versions, once older than kSnapshotHoldGraceMicros.
  // Returns how many.
  Result<int> DropDanglingSnapshots(const BucketName& source);

  librados::Rados* rados_;
  librados::IoCtx meta_;
  io::Random* rnd_;
  io::Clock* clock_;
  metrics::HistogramBlock* commit_latency_ = nullptr;
  std::string self_;  // this process, in notifies
  KvIndex::LockStripes locks_;
  RangeCache ranges_;
  std::atomic<uint64_t> conflicts_{0};
  std::atomic<uint64_t> usage_seq_{0};  // numbers this gateway's usage deltas (writer self_)
  std::mutex listeners_mu_;
  std::vector<ChangeListener> listeners_;
  std::unique_ptr<Watcher> watcher_;
  std::atomic<uint64_t> watch_handle_{0};
  // Re-watches after the watch broke (Watcher::handle_error), off librados' thread.
  void Rewatch();
  std::thread rewatcher_;
  std::mutex rewatch_mu_;
  std::condition_variable rewatch_cv_;
  bool rewatch_ = false, stopping_ = false;
  std::mutex gc_mu_;
  // Data id -> the bucket whose G key queues it: from PendingGc and from the calls that
  // released it, until GcDone.
  // (The flag: it came from PendingGc, whose buckets may be deleted ones to unlist.)
  struct GcPlace {
    std::string bucket, oid;
    bool swept = false;
  };
  std::map<std::string, GcPlace> gc_bucket_;
  // Range shards.
  size_t shard_keys_ = kDefaultShardKeys;
  bool split_in_background_ = true;
  int stop_split_after_ = 0;
  std::mutex maps_mu_;
  std::map<std::string, std::shared_ptr<const shards::Map>> maps_;
  std::map<std::string, uint64_t> commits_;       // shard -> commits since its last check
  std::map<std::string, uint64_t> pack_commits_;  // shard -> commits since its last pack check
  struct Job {
    std::string bucket, oid;
    bool split;  // a split check; else a pack check
  };
  std::deque<Job> split_queue_;
  size_t pack_keys_ = kDefaultPackKeys;
  std::atomic<uint64_t> packs_built_{0}, compactions_{0};
  bool splitting_ = false, split_stop_ = false;
  std::condition_variable split_cv_;
  std::thread splitter_;
  std::atomic<uint64_t> splits_{0};
};

}  // namespace sluice::meta
