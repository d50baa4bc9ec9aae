// meta::Index over a KvStore: the replication queue (docs/replication.md). A Q record per
// queued version sits beside the bucket's other records, so on a shared store (RADOS) it
// lives in the bucket's object and commits in the same guarded operation as the version.
#include <algorithm>

#include "meta/kv/codec.h"
#include "meta/kv/kv_index.h"

namespace sluice::meta {

Result<std::vector<ReplicationTask>> KvIndex::ListReplicationQueue(const BucketName& bucket,
                                                                   const std::string& after,
                                                                   size_t max) {
  SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
  const std::string prefix = codec::ReplicationPrefix(bucket);
  std::vector<ReplicationTask> out;
  auto it = kv_->NewIterator();
  it->Seek(after.empty() ? prefix : prefix + after + std::string(1, '\0'));
  for (; it->Valid() && out.size() < max; it->Next()) {
    std::string_view k = it->key();
    if (k.size() < prefix.size() || k.compare(0, prefix.size(), prefix) != 0) break;
    ReplicationTask t;
    SLUICE_RETURN_IF_ERROR(codec::DecodeReplication(k.substr(prefix.size()), it->value(), &t));
    out.push_back(std::move(t));
  }
  SLUICE_RETURN_IF_ERROR(it->status());
  return out;
}

Status KvIndex::RewriteVersion(const BucketName& bucket, const ObjectKey& key,
                               const VersionId& version,
                               const std::function<void(ObjectMeta*)>& change, KvBatch* batch) {
  SLUICE_ASSIGN_OR_RETURN(auto found, FindVersion(bucket, key, version));
  if (!found) return Error(Err::kNotFound, "version");
  SLUICE_ASSIGN_OR_RETURN(auto cur, ReadCurrent(bucket, key));
  change(&found->meta);
  const std::string okey = codec::ObjectKey(bucket, key);
  if (found->kv_key != okey && cur && cur->version == found->meta.version) {
    // The latest object: O holds the bytes, its V record does not.
    batch->Put(found->kv_key, codec::EncodeObject(found->meta, /*inline_elsewhere=*/true));
    batch->Put(okey, codec::EncodeObject(found->meta));
  } else {
    batch->Put(found->kv_key, codec::EncodeObject(found->meta));
  }
  return Status::Ok();
}

Status KvIndex::FinishReplication(const BucketName& bucket, const ReplicationTask& task,
                                  const std::string& status) {
  std::shared_lock bl(BucketLock(bucket));
  std::lock_guard kl(KeyLock(bucket, task.key));
  const std::string qkey = codec::ReplicationKey(bucket, task.version, task.key);
  std::string v;
  Status s = kv_->Get(qkey, &v);
  if (s.code() == Err::kNotFound) return Status::Ok();
  SLUICE_RETURN_IF_ERROR(s);
  // A newer change of the version (its tags) was queued over this task while it ran: that
  // one stays queued, and the version PENDING.
  if (!task.record.empty() && v != task.record) return Status::Ok();
  KvBatch batch;
  batch.Delete(qkey);
  // One Q record per version: the record just read is this task's.
  s = RewriteVersion(
      bucket, task.key, task.version, [&](ObjectMeta* m) { m->replication_status = status; },
      &batch);
  if (!s.ok() && s.code() != Err::kNotFound) return s;
  // Not synced: ending a task that a power failure then undoes only replays the task, and a
  // replayed copy is found at the destination, not written twice (Index::FinishReplication).
  // A sync per copied object cost a quarter of the small-object replication rate.
  return Commit(batch, /*sync=*/false);
}

Status KvIndex::QueueReplication(const BucketName& bucket, const ObjectKey& key,
                                 const VersionId& version) {
  std::shared_lock bl(BucketLock(bucket));
  std::lock_guard kl(KeyLock(bucket, key));
  SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
  KvBatch batch;
  VersionId exact;
  Status s = RewriteVersion(
      bucket, key, version,
      [&](ObjectMeta* m) {
        m->replication_status = kReplicationPending;
        exact = m->version;
      },
      &batch);
  if (s.code() == Err::kNotFound) return Error(Err::kNoSuchVersion, version.ToString());
  SLUICE_RETURN_IF_ERROR(s);
  if (exact.empty()) return Error(Err::kInvalidRequest, "an unversioned object is not replicated");
  batch.Put(codec::ReplicationKey(bucket, exact, key), codec::EncodeReplication(exact));
  return Commit(batch, sync_);
}

}  // namespace sluice::meta
