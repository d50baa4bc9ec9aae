// The metadata index interface, in S3 terms.
//
// Contract for every implementation:
// - Each mutating call is one atomic step: after a crash either all of it or none of it is
//   visible. With sync set it is durable before the call returns.
// - Data ids: a call that makes the index reference a data id records that reference; a
//   call that stops referencing one moves it to the GC queue in the same atomic step and
//   reports it in `released`. Recovery uses IsReferenced and PendingGc to delete orphaned
//   data (see docs/storage-format.md).
// - Reads see every completed write at once.
// - Thread-safe: any thread may call any method.
#pragma once

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

  // Buckets.
  virtual Status CreateBucket(const BucketInfo& info) = 0;  // kBucketAlreadyOwnedByYou
  virtual Result<BucketInfo> GetBucket(const std::string& name) = 0;  // kNoSuchBucket
  virtual Status DeleteBucket(const std::string& name) = 0;  // kBucketNotEmpty
  virtual Result<std::vector<BucketInfo>> ListBuckets() = 0;

  // A bucket's configuration documents (CORS, and later policy, lifecycle ...), one per
  // name, opaque here. Get: kNotFound when unset; all: kNoSuchBucket when the bucket is
  // gone. DeleteBucket removes them with the bucket.
  virtual Status PutBucketConfig(const std::string& bucket, const std::string& name,
                                 const std::string& doc) = 0;
  virtual Result<std::string> GetBucketConfig(const std::string& bucket, const std::string& name) = 0;
  virtual Status DeleteBucketConfig(const std::string& bucket, const std::string& name) = 0;

  // Server-wide documents outside any bucket (users, access keys, policies, sessions),
  // grouped in namespaces; opaque here. WriteDocs applies every write atomically.
  struct DocWrite {
    std::string ns, name;
    std::optional<std::string> doc;  // nullopt deletes
  };
  virtual Status WriteDocs(const std::vector<DocWrite>& writes) = 0;
  // Every document of a namespace, ordered by name.
  virtual Result<std::vector<std::pair<std::string, std::string>>> ListDocs(const std::string& ns) = 0;

  // Objects. Mutations fail with kNoSuchBucket when the bucket is gone.
  virtual Result<ObjectMeta> GetObject(const std::string& bucket, const std::string& key) = 0;
  virtual Status PutObject(const std::string& bucket, const std::string& key,
                           const ObjectMeta& meta, const WriteCondition& cond,
                           std::vector<std::string>* released) = 0;
  // Replaces only the tags of an existing object.
  virtual Status SetObjectTags(const std::string& bucket, const std::string& key,
                               const HeaderList& tags) = 0;
  // Replaces only the canned ACL of an existing object.
  virtual Status SetObjectAcl(const std::string& bucket, const std::string& key,
                              const std::string& acl) = 0;
  // Deleting a missing key succeeds (S3 semantics).
  virtual Status DeleteObject(const std::string& bucket, const std::string& key,
                              std::vector<std::string>* released) = 0;
  virtual Result<ListPage> ListObjects(const std::string& bucket, const ListQuery& q) = 0;

  // Multipart uploads.
  virtual Status CreateUpload(const std::string& bucket, const UploadInfo& info) = 0;
  virtual Result<UploadInfo> GetUpload(const std::string& bucket, const std::string& key,
                                       const std::string& upload_id) = 0;  // kNoSuchUpload
  virtual Status PutPart(const std::string& bucket, const std::string& key,
                         const std::string& upload_id, const PartInfo& part,
                         std::vector<std::string>* released) = 0;
  // Parts with number > marker, in order, at most max (0 = all).
  virtual Result<std::vector<PartInfo>> ListParts(const std::string& upload_id, uint32_t marker,
                                                  uint32_t max) = 0;
  // Publishes `meta` under the upload's key and removes the upload. Parts not named in
  // meta.segments are released. In the same atomic write it records the completion
  // (GetCompletedUpload), stamped with meta.mtime_micros, and drops a bounded number of
  // completion records older than kCompletedUploadRetentionMicros before that stamp.
  virtual Status CompleteUpload(const std::string& bucket, const std::string& key,
                                const std::string& upload_id, const ObjectMeta& meta,
                                const WriteCondition& cond,
                                std::vector<std::string>* released) = 0;
  // The record of a completed upload (kNoSuchUpload when there is none). Records may outlive
  // the retention until a later Complete drops them: callers check completed_micros.
  virtual Result<CompletedUpload> GetCompletedUpload(const std::string& upload_id) = 0;
  virtual Status AbortUpload(const std::string& bucket, const std::string& key,
                             const std::string& upload_id,
                             std::vector<std::string>* released) = 0;
  virtual Result<UploadListPage> ListUploads(const std::string& bucket,
                                             const UploadListQuery& q) = 0;

  // Data-id bookkeeping for recovery and garbage collection.
  virtual Result<bool> IsReferenced(const std::string& data_id) = 0;
  virtual Result<std::vector<std::string>> PendingGc(size_t max) = 0;
  virtual Status GcDone(const std::vector<std::string>& data_ids) = 0;
};

}  // namespace sluice::meta
