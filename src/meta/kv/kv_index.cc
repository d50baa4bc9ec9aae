// meta::Index over a KvStore: buckets (with their versioning, Object Lock and snapshot
// records), bucket configurations, server documents, multipart uploads and GC. Objects and
// their versions are in kv_objects.cc.
#include "meta/kv/kv_index.h"

#include <algorithm>
#include <functional>
#include <set>

#include "common/strings.h"
#include "meta/kv/codec.h"

namespace sluice::meta {
namespace {

bool StartsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.compare(0, p.size(), p) == 0;
}

}  // namespace

std::shared_mutex& KvIndex::BucketLock(const std::string& bucket) {
  return locks_->bucket[std::hash<std::string>{}(bucket) % kStripes];
}
std::mutex& KvIndex::KeyLock(const std::string& bucket, const std::string& key) {
  return locks_
      ->key[(std::hash<std::string>{}(bucket)*31 + std::hash<std::string>{}(key)) % kStripes];
}
std::mutex& KvIndex::UploadLock(const std::string& upload_id) {
  return locks_->upload[std::hash<std::string>{}(upload_id) % kStripes];
}

Status KvIndex::BucketExists(const BucketName& bucket) {
  std::string v;
  Status s = kv_->Get(codec::BucketKey(bucket), &v);
  if (s.code() == Err::kNotFound) return Error(Err::kNoSuchBucket, bucket);
  return s;
}

void KvIndex::Release(const std::string& id, KvBatch* batch, std::vector<std::string>* released) {
  batch->Delete(codec::RefKey(id));
  batch->Put(codec::GcKey(id), "");
  if (released) released->push_back(id);
}

Status KvIndex::CreateBucketCommit(const BucketInfo& info) {
  std::unique_lock l(BucketLock(info.name));
  std::string v;
  Status s = kv_->Get(codec::BucketKey(info.name), &v);
  if (s.ok()) return Error(Err::kBucketAlreadyOwnedByYou, info.name);
  if (s.code() != Err::kNotFound) return s;
  KvBatch b;
  b.Put(codec::BucketKey(info.name), codec::EncodeBucket(info));
  return Commit(b, sync_);
}

Result<BucketInfo> KvIndex::GetBucket(const BucketName& name) {
  std::string v;
  Status s = kv_->Get(codec::BucketKey(name), &v);
  if (s.code() == Err::kNotFound) return Error(Err::kNoSuchBucket, name);
  SLUICE_RETURN_IF_ERROR(s);
  BucketInfo b;
  SLUICE_RETURN_IF_ERROR(codec::DecodeBucket(v, &b));
  return b;
}

Status KvIndex::SetBucketVersioningCommit(const BucketName& bucket, Versioning state) {
  if (state == Versioning::kUnversioned)
    return Error(Err::kInvalidArgument, "a bucket cannot return to unversioned");
  std::unique_lock l(BucketLock(bucket));  // no write runs while the state changes
  SLUICE_ASSIGN_OR_RETURN(BucketInfo info, GetBucket(bucket));
  if (info.versioning == state) return Status::Ok();
  if (!info.snapshot_of.empty())
    return Error(Err::kReadOnlySnapshot, bucket.str() + " is a snapshot");
  {
    auto it = kv_->NewIterator();
    const std::string zp = codec::SnapshotPrefix(bucket);
    it->Seek(zp);
    SLUICE_RETURN_IF_ERROR(it->status());
    if (it->Valid() && StartsWith(it->key(), zp))
      return Error(Err::kInvalidBucketState,
                   "The bucket has snapshots, so its versioning stays "
                   "Enabled (suspending would overwrite versions they show).");
  }
  if (info.lock.enabled)
    return Error(Err::kInvalidBucketState,
                 "An Object Lock configuration is present on this bucket, so the versioning state "
                 "cannot be changed.");
  info.versioning = state;
  KvBatch b;
  b.Put(codec::BucketKey(bucket), codec::EncodeBucket(info));
  return Commit(b, sync_);
}

Status KvIndex::SetBucketObjectLockCommit(const BucketName& bucket, const ObjectLockConfig& lock) {
  std::unique_lock l(BucketLock(bucket));
  SLUICE_ASSIGN_OR_RETURN(BucketInfo info, GetBucket(bucket));
  if (info.versioning != Versioning::kEnabled)
    return Error(Err::kInvalidBucketState,
                 "Versioning must be 'Enabled' on the bucket to apply a "
                 "Object Lock configuration");
  info.lock = lock;
  info.lock.enabled = true;  // once enabled, never disabled
  KvBatch b;
  b.Put(codec::BucketKey(bucket), codec::EncodeBucket(info));
  return Commit(b, sync_);
}

Status KvIndex::CreateSnapshotCommit(const BucketName& source, const BucketName& name,
                                     int64_t at_micros, const std::string& owner) {
  // Exclusive on the source: no write is in flight while the instant is recorded, and
  // every later write is stamped after it (last_snapshot_at).
  std::unique_lock l(BucketLock(source));
  std::unique_ptr<std::unique_lock<std::shared_mutex>> l2;
  if (&BucketLock(name) != &BucketLock(source))
    l2 = std::make_unique<std::unique_lock<std::shared_mutex>>(BucketLock(name));
  SLUICE_ASSIGN_OR_RETURN(BucketInfo src, GetBucket(source));
  if (!src.snapshot_of.empty())
    return Error(Err::kInvalidRequest, source.str() + " is itself a snapshot");
  if (src.versioning != Versioning::kEnabled)
    return Error(Err::kInvalidBucketState,
                 "A snapshot needs a bucket whose versioning is Enabled: " + source.str());
  std::string v;
  Status s = kv_->Get(codec::BucketKey(name), &v);
  if (s.ok())
    return Error(Err::kBucketAlreadyExists, "The requested bucket name is not available.");
  if (s.code() != Err::kNotFound) return s;
  const BucketInfo snap = SnapshotRecord(&src, name, at_micros, owner);
  KvBatch b;
  b.Put(codec::BucketKey(name), codec::EncodeBucket(snap));
  b.Put(codec::BucketKey(source), codec::EncodeBucket(src));
  b.Put(codec::SnapshotKey(source, name), std::to_string(snap.snapshot_at));
  return Commit(b, sync_);
}

BucketInfo KvIndex::SnapshotRecord(BucketInfo* src, const BucketName& name, int64_t at_micros,
                                   const std::string& owner) {
  const int64_t at = std::max(at_micros, src->last_snapshot_at);
  BucketInfo snap;
  snap.name = name;
  snap.created_micros = at;
  snap.owner = owner;
  snap.region = src->region;
  snap.versioning = Versioning::kEnabled;
  snap.snapshot_of = src->name;
  snap.snapshot_at = at;
  src->last_snapshot_at = at;
  return snap;
}

Status KvIndex::DeleteSnapshotCommit(const BucketName& name) {
  std::unique_lock l(BucketLock(name));
  SLUICE_ASSIGN_OR_RETURN(BucketInfo snap, GetBucket(name));
  if (snap.snapshot_of.empty())
    return Error(Err::kInvalidRequest, name.str() + " is not a snapshot");
  KvBatch b;
  b.Delete(codec::BucketKey(name));
  b.Delete(codec::SnapshotKey(snap.snapshot_of, name));
  auto it = kv_->NewIterator();
  std::string cprefix = codec::ConfigPrefix(name);
  for (it->Seek(cprefix); it->Valid() && StartsWith(it->key(), cprefix); it->Next())
    b.Delete(std::string(it->key()));
  SLUICE_RETURN_IF_ERROR(it->status());
  return Commit(b, sync_);
}

Status KvIndex::CheckDeletable(const BucketName& name) {
  SLUICE_ASSIGN_OR_RETURN(BucketInfo info, GetBucket(name));
  if (!info.snapshot_of.empty())
    return Error(Err::kReadOnlySnapshot,
                 name.str() + " is a snapshot; remove it with `sluice snapshot rm`");
  auto it = kv_->NewIterator();
  const std::string zp = codec::SnapshotPrefix(name);
  it->Seek(zp);
  SLUICE_RETURN_IF_ERROR(it->status());
  if (it->Valid() && StartsWith(it->key(), zp))
    return Error(Err::kInvalidBucketState, "The bucket has snapshots; remove them first.");
  for (const std::string& prefix : {codec::ObjectPrefix(name), codec::VersionPrefix(name)}) {
    it->Seek(prefix);
    if (it->Valid() && StartsWith(it->key(), prefix)) return Error(Err::kBucketNotEmpty, name);
    SLUICE_RETURN_IF_ERROR(it->status());
  }
  return Status::Ok();
}

Status KvIndex::DeleteBucketCommit(const BucketName& name) {
  std::unique_lock l(BucketLock(name));
  SLUICE_RETURN_IF_ERROR(CheckDeletable(name));
  auto it = kv_->NewIterator();
  // In-progress multipart uploads are aborted with the bucket.
  KvBatch b;
  std::string uprefix = codec::UploadPrefix(name);
  std::vector<UploadId> upload_ids;
  for (it->Seek(uprefix); it->Valid() && StartsWith(it->key(), uprefix); it->Next()) {
    UploadInfo u;
    SLUICE_RETURN_IF_ERROR(codec::DecodeUpload(it->value(), &u));
    b.Delete(std::string(it->key()));
    upload_ids.push_back(u.upload_id);
  }
  SLUICE_RETURN_IF_ERROR(it->status());
  for (const auto& id : upload_ids) SLUICE_RETURN_IF_ERROR(ReleaseParts(id, &b, nullptr, nullptr));
  // Configurations go with the bucket, and so do queued replications of versions that are
  // gone (a task whose version was removed waits for the worker to drop it), and its usage
  // records (all zero by now).
  for (const std::string& prefix :
       {codec::ConfigPrefix(name), codec::ReplicationPrefix(name), codec::UsagePrefix(name)}) {
    for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix); it->Next())
      b.Delete(std::string(it->key()));
    SLUICE_RETURN_IF_ERROR(it->status());
  }
  b.Delete(codec::BucketKey(name));
  return Commit(b, sync_);
}

Status KvIndex::PutBucketConfigCommit(const BucketName& bucket, const std::string& name,
                                      const std::string& doc) {
  std::shared_lock l(BucketLock(bucket));  // DeleteBucket cannot slip in between
  SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
  KvBatch b;
  b.Put(codec::ConfigKey(bucket, name), doc);
  return Commit(b, sync_);
}

Result<std::string> KvIndex::GetBucketConfig(const BucketName& bucket, const std::string& name) {
  std::string v;
  Status s = kv_->Get(codec::ConfigKey(bucket, name), &v);
  if (s.code() == Err::kNotFound) {
    SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
    return Error(Err::kNotFound, name);
  }
  SLUICE_RETURN_IF_ERROR(s);
  return v;
}

Status KvIndex::DeleteBucketConfigCommit(const BucketName& bucket, const std::string& name) {
  std::shared_lock l(BucketLock(bucket));
  SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
  KvBatch b;
  b.Delete(codec::ConfigKey(bucket, name));
  return Commit(b, sync_);
}

Status KvIndex::WriteDocsCommit(const std::vector<DocWrite>& writes) {
  KvBatch b;
  for (const auto& w : writes) {
    if (w.ns.find('\0') != std::string::npos || w.name.find('\0') != std::string::npos)
      return Error(Err::kInvalidArgument, "document names hold no NUL");
    if (w.doc) {
      b.Put(codec::DocKey(w.ns, w.name), *w.doc);
    } else {
      b.Delete(codec::DocKey(w.ns, w.name));
    }
  }
  return Commit(b, sync_);
}

Result<std::vector<std::pair<std::string, std::string>>> KvIndex::ListDocs(const std::string& ns) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string prefix = codec::DocPrefix(ns);
  auto it = kv_->NewIterator();
  for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix); it->Next())
    out.emplace_back(std::string(it->key().substr(prefix.size())), std::string(it->value()));
  SLUICE_RETURN_IF_ERROR(it->status());
  return out;
}

Result<std::vector<BucketInfo>> KvIndex::ListBuckets() {
  std::vector<BucketInfo> out;
  std::string prefix(1, codec::kBucket);
  auto it = kv_->NewIterator();
  for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix); it->Next()) {
    BucketInfo b;
    SLUICE_RETURN_IF_ERROR(codec::DecodeBucket(it->value(), &b));
    out.push_back(std::move(b));
  }
  SLUICE_RETURN_IF_ERROR(it->status());
  return out;
}

Status KvIndex::CreateUpload(const BucketName& bucket, const UploadInfo& info) {
  std::shared_lock bl(BucketLock(bucket));
  SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
  KvBatch b;
  b.Put(codec::UploadKey(bucket, info.key, info.upload_id), codec::EncodeUpload(info));
  return Commit(b, sync_);
}

Result<UploadInfo> KvIndex::GetUpload(const BucketName& bucket, const ObjectKey& key,
                                      const UploadId& upload_id) {
  std::string v;
  Status s = kv_->Get(codec::UploadKey(bucket, key, upload_id), &v);
  if (s.code() == Err::kNotFound) {
    SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
    return Error(Err::kNoSuchUpload, upload_id);
  }
  SLUICE_RETURN_IF_ERROR(s);
  UploadInfo u;
  SLUICE_RETURN_IF_ERROR(codec::DecodeUpload(v, &u));
  return u;
}

Status KvIndex::PutPart(const BucketName& bucket, const ObjectKey& key, const UploadId& upload_id,
                        const PartInfo& part, std::vector<std::string>* released) {
  // Shared bucket lock: a DeleteBucket (which aborts uploads) cannot interleave and leave
  // a part referenced by no upload.
  std::shared_lock bl(BucketLock(bucket));
  std::lock_guard ul(UploadLock(upload_id));
  SLUICE_RETURN_IF_ERROR(GetUpload(bucket, key, upload_id).status());
  KvBatch b;
  std::string pk = codec::PartKey(upload_id, part.number);
  std::string old;
  Status s = kv_->Get(pk, &old);
  if (s.ok()) {
    PartInfo prev;
    SLUICE_RETURN_IF_ERROR(codec::DecodePart(old, &prev));
    if (prev.data_id != part.data_id) Release(prev.data_id, &b, released);
  } else if (s.code() != Err::kNotFound) {
    return s;
  }
  b.Put(codec::RefKey(part.data_id), "");
  b.Put(pk, codec::EncodePart(part));
  return Commit(b, sync_);
}

Result<std::vector<PartInfo>> KvIndex::ListParts(const BucketName& bucket, const ObjectKey& key,
                                                 const UploadId& upload_id, uint32_t marker,
                                                 uint32_t max) {
  SLUICE_RETURN_IF_ERROR(GetUpload(bucket, key, upload_id).status());
  return PartsOf(upload_id, marker, max);
}

Result<std::vector<PartInfo>> KvIndex::PartsOf(const UploadId& upload_id, uint32_t marker,
                                               uint32_t max) {
  std::vector<PartInfo> out;
  std::string prefix = codec::PartPrefix(upload_id);
  auto it = kv_->NewIterator();
  // Part numbers are at most 10,000, so marker + 1 cannot overflow.
  for (it->Seek(codec::PartKey(upload_id, marker + 1));
       it->Valid() && StartsWith(it->key(), prefix); it->Next()) {
    if (max && out.size() == max + 1) break;  // one extra tells the caller it is truncated
    PartInfo p;
    SLUICE_RETURN_IF_ERROR(codec::DecodePart(it->value(), &p));
    if (p.number > marker) out.push_back(std::move(p));
  }
  SLUICE_RETURN_IF_ERROR(it->status());
  return out;
}

Status KvIndex::ReleaseParts(const UploadId& upload_id, KvBatch* batch,
                             std::vector<std::string>* released,
                             const std::vector<std::string>* keep) {
  SLUICE_ASSIGN_OR_RETURN(auto parts, PartsOf(upload_id, 0, 0));
  for (const auto& p : parts) {
    batch->Delete(codec::PartKey(upload_id, p.number));
    if (!keep || std::find(keep->begin(), keep->end(), p.data_id) == keep->end())
      Release(p.data_id, batch, released);
  }
  return Status::Ok();
}

Result<WriteResult> KvIndex::CompleteUpload(const BucketName& bucket, const ObjectKey& key,
                                            const UploadId& upload_id, const ObjectMeta& meta,
                                            const WriteCondition& cond,
                                            std::vector<std::string>* released) {
  std::shared_lock bl(BucketLock(bucket));
  std::lock_guard kl(KeyLock(bucket, key));
  std::lock_guard ul(UploadLock(upload_id));
  PrefetchKey(bucket, key);
  SLUICE_ASSIGN_OR_RETURN(BucketInfo info, GetBucket(bucket));
  SLUICE_RETURN_IF_ERROR(GetUpload(bucket, key, upload_id).status());
  SLUICE_ASSIGN_OR_RETURN(auto cur, ReadCurrent(bucket, key));
  SLUICE_RETURN_IF_ERROR(CheckCondition(cur, cond));
  KvBatch b;
  std::vector<std::string> keep;
  for (const auto& s : meta.segments) keep.push_back(s.data_id);
  SLUICE_RETURN_IF_ERROR(ReleaseParts(upload_id, &b, released, &keep));
  b.Delete(codec::UploadKey(bucket, key, upload_id));
  SLUICE_ASSIGN_OR_RETURN(WriteResult r,
                          WriteLatest(info, key, cur, meta, meta.mtime_micros, &b, released));
  CompletedUpload done{bucket,
                       key,
                       meta.etag,
                       r.version,
                       meta.checksum_algo,
                       meta.checksum_value,
                       meta.checksum_type,
                       meta.mtime_micros};
  b.Put(codec::CompletedKey(upload_id), codec::EncodeCompleted(done));
  b.Put(codec::CompletedByAgeKey(meta.mtime_micros, upload_id), "");
  // Drop a few records past their retention, oldest first: each Complete adds one and may
  // drop up to 16, so they never pile up.
  const std::string age_prefix(1, codec::kCompletedByAge);
  const std::string cutoff =
      codec::CompletedByAgeKey(meta.mtime_micros - kCompletedUploadRetentionMicros, "");
  auto it = kv_->NewUnguardedIterator();
  int dropped = 0;
  for (it->Seek(age_prefix); it->Valid() && dropped < 16 && it->key() < cutoff;
       it->Next(), dropped++) {
    std::string_view k = it->key();
    if (k.size() <= 9 || k[0] != codec::kCompletedByAge) break;
    b.Delete(std::string(k));
    b.Delete(codec::CompletedKey(k.substr(9)));
  }
  const Prior prior{bucket, key, cur};
  SLUICE_RETURN_IF_ERROR(Commit(b, sync_, &prior));
  return r;
}

Result<CompletedUpload> KvIndex::GetCompletedUpload(const BucketName& bucket,
                                                    const UploadId& upload_id) {
  std::string v;
  Status s = kv_->Get(codec::CompletedKey(upload_id), &v);
  if (s.code() == Err::kNotFound) return Error(Err::kNoSuchUpload, "");
  SLUICE_RETURN_IF_ERROR(s);
  CompletedUpload c;
  SLUICE_RETURN_IF_ERROR(codec::DecodeCompleted(v, &c));
  if (c.bucket != bucket.str()) return Error(Err::kNoSuchUpload, "");
  return c;
}

Status KvIndex::AbortUpload(const BucketName& bucket, const ObjectKey& key,
                            const UploadId& upload_id, std::vector<std::string>* released) {
  std::shared_lock bl(BucketLock(bucket));
  std::lock_guard ul(UploadLock(upload_id));
  SLUICE_RETURN_IF_ERROR(GetUpload(bucket, key, upload_id).status());
  KvBatch b;
  SLUICE_RETURN_IF_ERROR(ReleaseParts(upload_id, &b, released, nullptr));
  b.Delete(codec::UploadKey(bucket, key, upload_id));
  return Commit(b, sync_);
}

Result<UploadListPage> KvIndex::ListUploads(const BucketName& bucket, const UploadListQuery& q) {
  SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
  UploadListPage page;
  const std::string base = codec::UploadPrefix(bucket);
  auto it = kv_->NewIterator();
  if (!q.key_marker.empty()) {
    if (!q.upload_id_marker.empty()) {
      std::string k = codec::UploadKey(bucket, q.key_marker, q.upload_id_marker);
      k.push_back('\0');
      it->Seek(k);
    } else {
      std::string k = base + q.key_marker;
      k.push_back('\x01');  // past every upload id of key_marker
      it->Seek(k);
    }
  } else {
    it->Seek(base + q.prefix);
  }
  uint32_t count = 0;
  std::string last_prefix;
  while (it->Valid() && StartsWith(it->key(), base + q.prefix)) {
    std::string_view rest = it->key().substr(base.size());
    size_t nul = rest.find('\0');
    std::string_view key = rest.substr(0, nul);
    if (count == q.max_uploads) {
      page.truncated = true;
      break;
    }
    if (auto cp = codec::CommonPrefixOf(key, q.prefix, q.delimiter)) {
      page.common_prefixes.push_back(*cp);
      page.next_key_marker = *cp;
      page.next_upload_id_marker.clear();
      count++;
      std::string next = codec::PrefixSuccessor(base + *cp);
      if (next.empty()) break;
      it->Seek(next);
      continue;
    }
    UploadInfo u;
    SLUICE_RETURN_IF_ERROR(codec::DecodeUpload(it->value(), &u));
    page.next_key_marker = u.key;
    page.next_upload_id_marker = u.upload_id;
    page.uploads.push_back(std::move(u));
    count++;
    it->Next();
  }
  SLUICE_RETURN_IF_ERROR(it->status());
  return page;
}

// The mutations listeners hear of.
Status KvIndex::CreateBucket(const BucketInfo& info) {
  return Notified(CreateBucketCommit(info), Change::Kind::kBucket, info.name);
}
Status KvIndex::DeleteBucket(const BucketName& name) {
  return Notified(DeleteBucketCommit(name), Change::Kind::kBucket, name);
}
Status KvIndex::SetBucketVersioning(const BucketName& bucket, Versioning state) {
  return Notified(SetBucketVersioningCommit(bucket, state), Change::Kind::kBucket, bucket);
}
Status KvIndex::SetBucketObjectLock(const BucketName& bucket, const ObjectLockConfig& lock) {
  return Notified(SetBucketObjectLockCommit(bucket, lock), Change::Kind::kBucket, bucket);
}
Status KvIndex::CreateSnapshot(const BucketName& source, const BucketName& name, int64_t at_micros,
                               const std::string& owner) {
  return Notified(CreateSnapshotCommit(source, name, at_micros, owner), Change::Kind::kBucket,
                  name);
}
Status KvIndex::DeleteSnapshot(const BucketName& name) {
  return Notified(DeleteSnapshotCommit(name), Change::Kind::kBucket, name);
}
Status KvIndex::PutBucketConfig(const BucketName& bucket, const std::string& name,
                                const std::string& doc) {
  return Notified(PutBucketConfigCommit(bucket, name, doc), Change::Kind::kBucket, bucket);
}
Status KvIndex::DeleteBucketConfig(const BucketName& bucket, const std::string& name) {
  return Notified(DeleteBucketConfigCommit(bucket, name), Change::Kind::kBucket, bucket);
}
Status KvIndex::WriteDocs(const std::vector<DocWrite>& writes) {
  Status s = WriteDocsCommit(writes);
  if (!s.ok()) return s;
  std::vector<std::string> namespaces;
  for (const auto& w : writes)
    if (std::find(namespaces.begin(), namespaces.end(), w.ns) == namespaces.end())
      namespaces.push_back(w.ns);
  for (const auto& ns : namespaces) Notified(Status::Ok(), Change::Kind::kDocs, ns).IgnoreError();
  return s;
}

void KvIndex::Subscribe(ChangeListener listener) {
  std::lock_guard l(listeners_mu_);
  listeners_.push_back(std::move(listener));
}

// One process holds a local index, so every change is local and heard at once.
Status KvIndex::Notified(Status committed, Change::Kind kind, const std::string& name) {
  if (!committed.ok()) return committed;
  std::vector<ChangeListener> listeners;
  {
    std::lock_guard l(listeners_mu_);
    listeners = listeners_;
  }
  const Change change{kind, name, true};
  for (const auto& fn : listeners) fn(change);
  return committed;
}

Result<bool> KvIndex::IsReferenced(const std::string& data_id, std::string_view /*owner*/) {
  std::string v;
  Status s = kv_->Get(codec::RefKey(data_id), &v);
  if (s.code() == Err::kNotFound) return false;
  SLUICE_RETURN_IF_ERROR(s);
  return true;
}

Result<std::vector<std::string>> KvIndex::PendingGc(size_t max) {
  std::vector<std::string> out;
  std::string prefix(1, codec::kGc);
  auto it = kv_->NewIterator();
  for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix) && out.size() < max;
       it->Next())
    out.emplace_back(it->key().substr(1));
  SLUICE_RETURN_IF_ERROR(it->status());
  return out;
}

Result<TarEntry> KvIndex::GetMember(const BucketName& /*bucket*/, const ObjectKey& /*key*/,
                                    const std::string& data_id, const std::string& name) {
  std::string v;
  SLUICE_RETURN_IF_ERROR(kv_->Get(codec::MemberKey(data_id, name), &v));
  TarEntry e;
  SLUICE_RETURN_IF_ERROR(codec::DecodeMember(name, v, &e));
  return e;
}

std::vector<Result<TarEntry>> KvIndex::GetMembers(const BucketName& bucket, const ObjectKey& key,
                                                  const std::string& data_id,
                                                  const std::vector<std::string>& names) {
  if (kv_->prefetches()) {
    std::vector<std::string> records;
    records.reserve(names.size());
    for (const auto& n : names) records.push_back(codec::MemberKey(data_id, n));
    kv_->Prefetch(records);
  }
  return Index::GetMembers(bucket, key, data_id, names);  // one by one, from what was prefetched
}

Result<std::vector<TarEntry>> KvIndex::ListMembers(const BucketName& /*bucket*/,
                                                   const ObjectKey& /*key*/,
                                                   const std::string& data_id,
                                                   const std::string& after, size_t max) {
  const std::string prefix = codec::MemberPrefix(data_id);
  std::vector<TarEntry> out;
  auto it = kv_->NewIterator();
  std::string from = prefix + after;
  if (!after.empty()) from.push_back('\0');  // the first name after `after`
  for (it->Seek(from); it->Valid() && StartsWith(it->key(), prefix) && out.size() < max;
       it->Next()) {
    TarEntry e;
    SLUICE_RETURN_IF_ERROR(codec::DecodeMember(it->key().substr(prefix.size()), it->value(), &e));
    out.push_back(std::move(e));
  }
  SLUICE_RETURN_IF_ERROR(it->status());
  return out;
}

Status KvIndex::GcDone(const std::vector<std::string>& data_ids) {
  if (data_ids.empty()) return Status::Ok();
  KvBatch b;
  for (const auto& id : data_ids) {
    b.Delete(codec::GcKey(id));
    // The member table of the collected data, if it had one.
    const std::string prefix = codec::MemberPrefix(id);
    auto it = kv_->NewIterator();
    for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix); it->Next())
      b.Delete(std::string(it->key()));
    SLUICE_RETURN_IF_ERROR(it->status());
  }
  // Not synced: forgetting a GC entry only means deleting an absent file again.
  return Commit(b, false);
}

}  // namespace sluice::meta
