#include "meta/api/async_index.h"

namespace sluice::meta {

// Each call is a plain function returning the Task of InlineOrOffload(): one coroutine frame
// a call.

Task<Status> AsyncIndex::CreateBucket(const BucketInfo& info) {
  return Write([this, &info] { return index_->CreateBucket(info); });
}
Task<Result<BucketInfo>> AsyncIndex::GetBucket(const BucketName& name) {
  return Read([this, &name] { return index_->GetBucket(name); });
}
Task<Status> AsyncIndex::DeleteBucket(const BucketName& name) {
  return Write([this, &name] { return index_->DeleteBucket(name); });
}
Task<Result<std::vector<BucketInfo>>> AsyncIndex::ListBuckets() {
  return Read([this] { return index_->ListBuckets(); });
}
Task<Status> AsyncIndex::SetBucketVersioning(const BucketName& bucket, Versioning state) {
  return Write([this, &bucket, state] { return index_->SetBucketVersioning(bucket, state); });
}
Task<Status> AsyncIndex::SetBucketObjectLock(const BucketName& bucket,
                                             const ObjectLockConfig& lock) {
  return Write([this, &bucket, &lock] { return index_->SetBucketObjectLock(bucket, lock); });
}
Task<Result<ObjectMeta>> AsyncIndex::GetObjectAsOf(const BucketName& source, const ObjectKey& key,
                                                   int64_t at_micros) {
  return Read(
      [this, &source, &key, at_micros] { return index_->GetObjectAsOf(source, key, at_micros); });
}
Task<Status> AsyncIndex::PutBucketConfig(const BucketName& bucket, const std::string& name,
                                         const std::string& doc) {
  return Write([this, &bucket, &name, &doc] { return index_->PutBucketConfig(bucket, name, doc); });
}
Task<Result<std::string>> AsyncIndex::GetBucketConfig(const BucketName& bucket,
                                                      const std::string& name) {
  return Read([this, &bucket, &name] { return index_->GetBucketConfig(bucket, name); });
}
Task<Status> AsyncIndex::DeleteBucketConfig(const BucketName& bucket, const std::string& name) {
  return Write([this, &bucket, &name] { return index_->DeleteBucketConfig(bucket, name); });
}

Task<Result<ObjectMeta>> AsyncIndex::GetObject(const BucketName& bucket, const ObjectKey& key,
                                               const VersionId& version) {
  return Read([this, &bucket, &key, &version] { return index_->GetObject(bucket, key, version); });
}
Task<std::vector<Result<ObjectMeta>>> AsyncIndex::GetObjects(const BucketName& bucket,
                                                             const std::vector<ObjectKey>& keys) {
  return Read([this, &bucket, &keys] { return index_->GetObjects(bucket, keys); });
}
Task<Result<WriteResult>> AsyncIndex::PutObject(const BucketName& bucket, const ObjectKey& key,
                                                const ObjectMeta& meta, const WriteCondition& cond,
                                                std::vector<std::string>* released) {
  return Write([this, &bucket, &key, &meta, &cond, released] {
    return index_->PutObject(bucket, key, meta, cond, released);
  });
}
Task<Status> AsyncIndex::SetObjectTags(const BucketName& bucket, const ObjectKey& key,
                                       const VersionId& version, const HeaderList& tags) {
  return Write([this, &bucket, &key, &version, &tags] {
    return index_->SetObjectTags(bucket, key, version, tags);
  });
}
Task<Status> AsyncIndex::SetObjectAcl(const BucketName& bucket, const ObjectKey& key,
                                      const VersionId& version, const std::string& acl) {
  return Write([this, &bucket, &key, &version, &acl] {
    return index_->SetObjectAcl(bucket, key, version, acl);
  });
}
Task<Result<WriteResult>> AsyncIndex::DeleteObject(const BucketName& bucket, const ObjectKey& key,
                                                   const DeleteRequest& request,
                                                   std::vector<std::string>* released) {
  return Write([this, &bucket, &key, &request, released] {
    return index_->DeleteObject(bucket, key, request, released);
  });
}
Task<Status> AsyncIndex::SetObjectRetention(const BucketName& bucket, const ObjectKey& key,
                                            const VersionId& version, const Retention& retention,
                                            bool bypass_governance, int64_t now_micros) {
  return Write([this, &bucket, &key, &version, &retention, bypass_governance, now_micros] {
    return index_->SetObjectRetention(bucket, key, version, retention, bypass_governance,
                                      now_micros);
  });
}
Task<Status> AsyncIndex::SetObjectLegalHold(const BucketName& bucket, const ObjectKey& key,
                                            const VersionId& version, bool on) {
  return Write([this, &bucket, &key, &version, on] {
    return index_->SetObjectLegalHold(bucket, key, version, on);
  });
}
Task<Result<TarEntry>> AsyncIndex::GetMember(const BucketName& bucket, const ObjectKey& key,
                                             const std::string& data_id, const std::string& name) {
  return Read([this, &bucket, &key, &data_id, &name] {
    return index_->GetMember(bucket, key, data_id, name);
  });
}
Task<std::vector<Result<TarEntry>>> AsyncIndex::GetMembers(const BucketName& bucket,
                                                           const ObjectKey& key,
                                                           const std::string& data_id,
                                                           const std::vector<std::string>& names) {
  return Read([this, &bucket, &key, &data_id, &names] {
    return index_->GetMembers(bucket, key, data_id, names);
  });
}
Task<Result<std::vector<TarEntry>>> AsyncIndex::ListMembers(const BucketName& bucket,
                                                            const ObjectKey& key,
                                                            const std::string& data_id,
                                                            const std::string& after, size_t max) {
  return Read([this, &bucket, &key, &data_id, &after, max] {
    return index_->ListMembers(bucket, key, data_id, after, max);
  });
}
Task<Result<ListPage>> AsyncIndex::ListObjects(const BucketName& bucket, const ListQuery& q) {
  return Read([this, &bucket, &q] { return index_->ListObjects(bucket, q); });
}
Task<Result<BucketUsage>> AsyncIndex::GetBucketUsage(const BucketName& bucket) {
  return Write([this, &bucket] { return index_->GetBucketUsage(bucket); });
}

Task<Result<VersionListPage>> AsyncIndex::ListObjectVersions(const BucketName& bucket,
                                                             const VersionListQuery& q) {
  return Read([this, &bucket, &q] { return index_->ListObjectVersions(bucket, q); });
}

Task<Status> AsyncIndex::CreateUpload(const BucketName& bucket, const UploadInfo& info) {
  return Write([this, &bucket, &info] { return index_->CreateUpload(bucket, info); });
}
Task<Result<UploadInfo>> AsyncIndex::GetUpload(const BucketName& bucket, const ObjectKey& key,
                                               const UploadId& upload_id) {
  return Read(
      [this, &bucket, &key, &upload_id] { return index_->GetUpload(bucket, key, upload_id); });
}
Task<Status> AsyncIndex::PutPart(const BucketName& bucket, const ObjectKey& key,
                                 const UploadId& upload_id, const PartInfo& part,
                                 std::vector<std::string>* released) {
  return Write([this, &bucket, &key, &upload_id, &part, released] {
    return index_->PutPart(bucket, key, upload_id, part, released);
  });
}
Task<Result<std::vector<PartInfo>>> AsyncIndex::ListParts(const BucketName& bucket,
                                                          const ObjectKey& key,
                                                          const UploadId& upload_id,
                                                          uint32_t marker, uint32_t max) {
  return Read([this, &bucket, &key, &upload_id, marker, max] {
    return index_->ListParts(bucket, key, upload_id, marker, max);
  });
}
Task<Result<WriteResult>> AsyncIndex::CompleteUpload(const BucketName& bucket, const ObjectKey& key,
                                                     const UploadId& upload_id,
                                                     const ObjectMeta& meta,
                                                     const WriteCondition& cond,
                                                     std::vector<std::string>* released) {
  return Write([this, &bucket, &key, &upload_id, &meta, &cond, released] {
    return index_->CompleteUpload(bucket, key, upload_id, meta, cond, released);
  });
}
Task<Result<CompletedUpload>> AsyncIndex::GetCompletedUpload(const BucketName& bucket,
                                                             const UploadId& upload_id) {
  return Read(
      [this, &bucket, &upload_id] { return index_->GetCompletedUpload(bucket, upload_id); });
}
Task<Status> AsyncIndex::AbortUpload(const BucketName& bucket, const ObjectKey& key,
                                     const UploadId& upload_id,
                                     std::vector<std::string>* released) {
  return Write([this, &bucket, &key, &upload_id, released] {
    return index_->AbortUpload(bucket, key, upload_id, released);
  });
}
Task<Result<UploadListPage>> AsyncIndex::ListUploads(const BucketName& bucket,
                                                     const UploadListQuery& q) {
  return Read([this, &bucket, &q] { return index_->ListUploads(bucket, q); });
}

}  // namespace sluice::meta
