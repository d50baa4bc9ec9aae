// The index as the I/O threads call it: every call is awaited, and this adapter, in this
// one place, decides whether it runs inline on the awaiting I/O thread or on the blocking
// pool, by what the backend's Index::blocking() declares. The S3 layer holds only an
// AsyncIndex and never chooses (docs/architecture.md, "How calls block").
//
// Arguments are taken by reference: await each call in the expression that makes it.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/async.h"
#include "meta/api/index.h"

namespace sluice::meta {

class AsyncIndex {
 public:
  AsyncIndex(Index* index, boost::asio::thread_pool* pool)
      : index_(index), pool_(pool), blocking_(index->blocking()) {}

  // The backend itself, for callers that may block: startup, recovery, workers on their
  // own threads, and the admin API and GC on the blocking pool (snapshots, documents and
  // GC entries have no awaitable face: nothing on an I/O thread calls them).
  Index& backend() const { return *index_; }

  Task<Status> CreateBucket(const BucketInfo& info);
  Task<Result<BucketInfo>> GetBucket(const BucketName& name);
  Task<Status> DeleteBucket(const BucketName& name);
  Task<Result<std::vector<BucketInfo>>> ListBuckets();
  Task<Status> SetBucketVersioning(const BucketName& bucket, Versioning state);
  Task<Status> SetBucketObjectLock(const BucketName& bucket, const ObjectLockConfig& lock);
  Task<Result<ObjectMeta>> GetObjectAsOf(const BucketName& source, const ObjectKey& key,
                                         int64_t at_micros);
  Task<Status> PutBucketConfig(const BucketName& bucket, const std::string& name,
                               const std::string& doc);
  Task<Result<std::string>> GetBucketConfig(const BucketName& bucket, const std::string& name);
  Task<Status> DeleteBucketConfig(const BucketName& bucket, const std::string& name);

  Task<Result<ObjectMeta>> GetObject(const BucketName& bucket, const ObjectKey& key,
                                     const VersionId& version = {});
  Task<std::vector<Result<ObjectMeta>>> GetObjects(const BucketName& bucket,
                                                   const std::vector<ObjectKey>& keys);
  Task<Result<WriteResult>> PutObject(const BucketName& bucket, const ObjectKey& key,
                                      const ObjectMeta& meta, const WriteCondition& cond,
                                      std::vector<std::string>* released);
  Task<Status> SetObjectTags(const BucketName& bucket, const ObjectKey& key,
                             const VersionId& version, const HeaderList& tags);
  Task<Status> SetObjectAcl(const BucketName& bucket, const ObjectKey& key,
                            const VersionId& version, const std::string& acl);
  Task<Result<WriteResult>> DeleteObject(const BucketName& bucket, const ObjectKey& key,
                                         const DeleteRequest& request,
                                         std::vector<std::string>* released);
  Task<Status> SetObjectRetention(const BucketName& bucket, const ObjectKey& key,
                                  const VersionId& version, const Retention& retention,
                                  bool bypass_governance, int64_t now_micros);
  Task<Status> SetObjectLegalHold(const BucketName& bucket, const ObjectKey& key,
                                  const VersionId& version, bool on);
  Task<Result<TarEntry>> GetMember(const BucketName& bucket, const ObjectKey& key,
                                   const std::string& data_id, const std::string& name);
  Task<std::vector<Result<TarEntry>>> GetMembers(const BucketName& bucket, const ObjectKey& key,
                                                 const std::string& data_id,
                                                 const std::vector<std::string>& names);
  Task<Result<std::vector<TarEntry>>> ListMembers(const BucketName& bucket, const ObjectKey& key,
                                                  const std::string& data_id,
                                                  const std::string& after, size_t max);
  Task<Result<ListPage>> ListObjects(const BucketName& bucket, const ListQuery& q);
  // May fold the bucket's usage records (a write), so it runs as a write does.
  Task<Result<BucketUsage>> GetBucketUsage(const BucketName& bucket);
  Task<Result<VersionListPage>> ListObjectVersions(const BucketName& bucket,
                                                   const VersionListQuery& q);

  Task<Status> CreateUpload(const BucketName& bucket, const UploadInfo& info);
  Task<Result<UploadInfo>> GetUpload(const BucketName& bucket, const ObjectKey& key,
                                     const UploadId& upload_id);
  Task<Status> PutPart(const BucketName& bucket, const ObjectKey& key, const UploadId& upload_id,
                       const PartInfo& part, std::vector<std::string>* released);
  Task<Result<std::vector<PartInfo>>> ListParts(const BucketName& bucket, const ObjectKey& key,
                                                const UploadId& upload_id, uint32_t marker,
                                                uint32_t max);
  Task<Result<WriteResult>> CompleteUpload(const BucketName& bucket, const ObjectKey& key,
                                           const UploadId& upload_id, const ObjectMeta& meta,
                                           const WriteCondition& cond,
                                           std::vector<std::string>* released);
  Task<Result<CompletedUpload>> GetCompletedUpload(const BucketName& bucket,
                                                   const UploadId& upload_id);
  Task<Status> AbortUpload(const BucketName& bucket, const ObjectKey& key,
                           const UploadId& upload_id, std::vector<std::string>* released);
  Task<Result<UploadListPage>> ListUploads(const BucketName& bucket, const UploadListQuery& q);

 private:
  // Runs fn inline when the class of call does not block, else on the pool.
  template <typename F>
  Task<std::invoke_result_t<F>> Read(F fn) {
    return InlineOrOffload(blocking_.reads, *pool_, std::move(fn));
  }
  template <typename F>
  Task<std::invoke_result_t<F>> Write(F fn) {
    return InlineOrOffload(blocking_.writes, *pool_, std::move(fn));
  }

  Index* index_;
  boost::asio::thread_pool* pool_;
  Index::Blocking blocking_;
};

}  // namespace sluice::meta
