// meta::Index over a sorted KvStore (RocksDB by default).
//
// Concurrency: read-modify-write calls lock a stripe chosen by (bucket, key), and part
// uploads lock a stripe chosen by upload id, so writers to different keys run in parallel
// and their synced batches share one WAL sync (group commit). Object and upload mutations
// hold their bucket's stripe shared; DeleteBucket holds it exclusive, so nothing lands in
// a bucket while it is being deleted. Lock order: bucket, key, upload.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>

#include "meta/api/index.h"
#include "meta/kv/kv_store.h"

namespace sluice::meta {

class KvIndex final : public Index {
 public:
  // `sync` makes every mutation durable before it returns; tests may turn it off.
  KvIndex(KvStore* kv, bool sync) : kv_(kv), sync_(sync) {}

  Status CreateBucket(const BucketInfo& info) override;
  Result<BucketInfo> GetBucket(const std::string& name) override;
  Status DeleteBucket(const std::string& name) override;
  Result<std::vector<BucketInfo>> ListBuckets() override;
  Status PutBucketConfig(const std::string& bucket, const std::string& name,
                         const std::string& doc) override;
  Result<std::string> GetBucketConfig(const std::string& bucket, const std::string& name) override;
  Status DeleteBucketConfig(const std::string& bucket, const std::string& name) override;
  Status WriteDocs(const std::vector<DocWrite>& writes) override;
  Result<std::vector<std::pair<std::string, std::string>>> ListDocs(const std::string& ns) override;

  Result<ObjectMeta> GetObject(const std::string& bucket, const std::string& key) override;
  Status PutObject(const std::string& bucket, const std::string& key, const ObjectMeta& meta,
                   const WriteCondition& cond, std::vector<std::string>* released) override;
  Status SetObjectTags(const std::string& bucket, const std::string& key,
                       const HeaderList& tags) override;
  Status SetObjectAcl(const std::string& bucket, const std::string& key,
                      const std::string& acl) override;
  Status DeleteObject(const std::string& bucket, const std::string& key,
                      std::vector<std::string>* released) override;
  Result<ListPage> ListObjects(const std::string& bucket, const ListQuery& q) override;

  Status CreateUpload(const std::string& bucket, const UploadInfo& info) override;
  Result<UploadInfo> GetUpload(const std::string& bucket, const std::string& key,
                               const std::string& upload_id) override;
  Status PutPart(const std::string& bucket, const std::string& key, const std::string& upload_id,
                 const PartInfo& part, std::vector<std::string>* released) override;
  Result<std::vector<PartInfo>> ListParts(const std::string& upload_id, uint32_t marker,
                                          uint32_t max) override;
  Status CompleteUpload(const std::string& bucket, const std::string& key,
                        const std::string& upload_id, const ObjectMeta& meta,
                        const WriteCondition& cond, std::vector<std::string>* released) override;
  Result<CompletedUpload> GetCompletedUpload(const std::string& upload_id) override;
  Status AbortUpload(const std::string& bucket, const std::string& key,
                     const std::string& upload_id, std::vector<std::string>* released) override;
  Result<UploadListPage> ListUploads(const std::string& bucket, const UploadListQuery& q) override;

  Result<bool> IsReferenced(const std::string& data_id) override;
  Result<std::vector<std::string>> PendingGc(size_t max) override;
  Status GcDone(const std::vector<std::string>& data_ids) override;

 private:
  Status UpdateAttributes(const std::string& bucket, const std::string& key,
                          const std::function<void(ObjectMeta*)>& change);
  static constexpr size_t kStripes = 256;
  std::shared_mutex& BucketLock(const std::string& bucket);
  std::mutex& KeyLock(const std::string& bucket, const std::string& key);
  std::mutex& UploadLock(const std::string& upload_id);
  Status BucketExists(const std::string& bucket);
  Status CheckCondition(const Result<ObjectMeta>& current, const WriteCondition& cond);
  // Releases every part of an upload into `batch` (refs dropped, GC queued).
  Status ReleaseParts(const std::string& upload_id, KvBatch* batch,
                      std::vector<std::string>* released, const std::vector<std::string>* keep);
  static void Release(const std::string& id, KvBatch* batch, std::vector<std::string>* released);

  KvStore* kv_;
  bool sync_;
  std::array<std::shared_mutex, kStripes> bucket_locks_;
  std::array<std::mutex, kStripes> key_locks_;
  std::array<std::mutex, kStripes> upload_locks_;
};

}  // namespace sluice::meta
