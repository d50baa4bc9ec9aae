#include "meta/kv/kv_index.h"

#include <algorithm>
#include <functional>
#include <set>

#include "meta/kv/codec.h"

namespace sluice::meta {
namespace {

bool StartsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.compare(0, p.size(), p) == 0;
}

}  // namespace

std::shared_mutex& KvIndex::BucketLock(const std::string& bucket) {
  return bucket_locks_[std::hash<std::string>{}(bucket) % kStripes];
}
std::mutex& KvIndex::KeyLock(const std::string& bucket, const std::string& key) {
  return key_locks_[(std::hash<std::string>{}(bucket) * 31 + std::hash<std::string>{}(key)) %
                    kStripes];
}
std::mutex& KvIndex::UploadLock(const std::string& upload_id) {
  return upload_locks_[std::hash<std::string>{}(upload_id) % kStripes];
}

Status KvIndex::BucketExists(const std::string& bucket) {
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

Status KvIndex::CreateBucket(const BucketInfo& info) {
  std::unique_lock l(BucketLock(info.name));
  std::string v;
  Status s = kv_->Get(codec::BucketKey(info.name), &v);
  if (s.ok()) return Error(Err::kBucketAlreadyOwnedByYou, info.name);
  if (s.code() != Err::kNotFound) return s;
  KvBatch b;
  b.Put(codec::BucketKey(info.name), codec::EncodeBucket(info));
  return kv_->Write(b, sync_);
}

Result<BucketInfo> KvIndex::GetBucket(const std::string& name) {
  std::string v;
  Status s = kv_->Get(codec::BucketKey(name), &v);
  if (s.code() == Err::kNotFound) return Error(Err::kNoSuchBucket, name);
  SLUICE_RETURN_IF_ERROR(s);
  BucketInfo b;
  SLUICE_RETURN_IF_ERROR(codec::DecodeBucket(v, &b));
  return b;
}

Status KvIndex::DeleteBucket(const std::string& name) {
  std::unique_lock l(BucketLock(name));
  SLUICE_RETURN_IF_ERROR(BucketExists(name));
  std::string prefix = codec::ObjectPrefix(name);
  auto it = kv_->NewIterator();
  it->Seek(prefix);
  if (it->Valid() && StartsWith(it->key(), prefix)) return Error(Err::kBucketNotEmpty, name);
  SLUICE_RETURN_IF_ERROR(it->status());
  // In-progress multipart uploads are aborted with the bucket.
  KvBatch b;
  std::string uprefix = codec::UploadPrefix(name);
  std::vector<std::string> upload_ids;
  for (it->Seek(uprefix); it->Valid() && StartsWith(it->key(), uprefix); it->Next()) {
    UploadInfo u;
    SLUICE_RETURN_IF_ERROR(codec::DecodeUpload(it->value(), &u));
    b.Delete(std::string(it->key()));
    upload_ids.push_back(u.upload_id);
  }
  SLUICE_RETURN_IF_ERROR(it->status());
  for (const auto& id : upload_ids) SLUICE_RETURN_IF_ERROR(ReleaseParts(id, &b, nullptr, nullptr));
  std::string cprefix = codec::ConfigPrefix(name);
  for (it->Seek(cprefix); it->Valid() && StartsWith(it->key(), cprefix); it->Next())
    b.Delete(std::string(it->key()));
  SLUICE_RETURN_IF_ERROR(it->status());
  b.Delete(codec::BucketKey(name));
  return kv_->Write(b, sync_);
}

Status KvIndex::PutBucketConfig(const std::string& bucket, const std::string& name,
                                const std::string& doc) {
  std::shared_lock l(BucketLock(bucket));  // DeleteBucket cannot slip in between
  SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
  KvBatch b;
  b.Put(codec::ConfigKey(bucket, name), doc);
  return kv_->Write(b, sync_);
}

Result<std::string> KvIndex::GetBucketConfig(const std::string& bucket, const std::string& name) {
  std::string v;
  Status s = kv_->Get(codec::ConfigKey(bucket, name), &v);
  if (s.code() == Err::kNotFound) {
    SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
    return Error(Err::kNotFound, name);
  }
  SLUICE_RETURN_IF_ERROR(s);
  return v;
}

Status KvIndex::DeleteBucketConfig(const std::string& bucket, const std::string& name) {
  std::shared_lock l(BucketLock(bucket));
  SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
  KvBatch b;
  b.Delete(codec::ConfigKey(bucket, name));
  return kv_->Write(b, sync_);
}

Status KvIndex::WriteDocs(const std::vector<DocWrite>& writes) {
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
  return kv_->Write(b, sync_);
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

Result<ObjectMeta> KvIndex::GetObject(const std::string& bucket, const std::string& key) {
  std::string v;
  Status s = kv_->Get(codec::ObjectKey(bucket, key), &v);
  if (s.code() == Err::kNotFound) {
    SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
    return Error(Err::kNoSuchKey, key);
  }
  SLUICE_RETURN_IF_ERROR(s);
  ObjectMeta m;
  SLUICE_RETURN_IF_ERROR(codec::DecodeObject(v, &m));
  return m;
}

Status KvIndex::CheckCondition(const Result<ObjectMeta>& current, const WriteCondition& cond) {
  bool exists = current.ok();
  if (!exists && current.status().code() != Err::kNoSuchKey) return current.status();
  if (cond.if_none_match_any && exists)
    return Error(Err::kPreconditionFailed, "At least one of the pre-conditions you specified did not hold");
  if (cond.if_match && (!exists || current->etag != *cond.if_match)) {
    if (!exists) return Error(Err::kNoSuchKey, "");
    return Error(Err::kPreconditionFailed, "At least one of the pre-conditions you specified did not hold");
  }
  return Status::Ok();
}

Status KvIndex::PutObject(const std::string& bucket, const std::string& key,
                          const ObjectMeta& meta, const WriteCondition& cond,
                          std::vector<std::string>* released) {
  std::shared_lock bl(BucketLock(bucket));
  std::lock_guard kl(KeyLock(bucket, key));
  Result<ObjectMeta> cur = GetObject(bucket, key);
  if (!cur.ok() && cur.status().code() == Err::kNoSuchBucket) return cur.status();
  SLUICE_RETURN_IF_ERROR(CheckCondition(cur, cond));
  KvBatch b;
  std::set<std::string> keep;
  for (const auto& s : meta.segments) {
    b.Put(codec::RefKey(s.data_id), "");
    keep.insert(s.data_id);
  }
  if (cur.ok())
    for (const auto& s : cur->segments)
      if (!keep.count(s.data_id)) Release(s.data_id, &b, released);
  b.Put(codec::ObjectKey(bucket, key), codec::EncodeObject(meta));
  return kv_->Write(b, sync_);
}

// Rewrites an existing object's record with one attribute changed (never its data).
Status KvIndex::UpdateAttributes(const std::string& bucket, const std::string& key,
                                 const std::function<void(ObjectMeta*)>& change) {
  std::shared_lock bl(BucketLock(bucket));
  std::lock_guard kl(KeyLock(bucket, key));
  SLUICE_ASSIGN_OR_RETURN(ObjectMeta m, GetObject(bucket, key));
  change(&m);
  KvBatch b;
  b.Put(codec::ObjectKey(bucket, key), codec::EncodeObject(m));
  return kv_->Write(b, sync_);
}

Status KvIndex::SetObjectTags(const std::string& bucket, const std::string& key,
                              const HeaderList& tags) {
  return UpdateAttributes(bucket, key, [&](ObjectMeta* m) { m->tags = tags; });
}

Status KvIndex::SetObjectAcl(const std::string& bucket, const std::string& key,
                             const std::string& acl) {
  return UpdateAttributes(bucket, key, [&](ObjectMeta* m) { m->acl = acl; });
}

Status KvIndex::DeleteObject(const std::string& bucket, const std::string& key,
                             std::vector<std::string>* released) {
  std::shared_lock bl(BucketLock(bucket));
  std::lock_guard kl(KeyLock(bucket, key));
  Result<ObjectMeta> cur = GetObject(bucket, key);
  if (!cur.ok()) return cur.status().code() == Err::kNoSuchKey ? Status::Ok() : cur.status();
  KvBatch b;
  for (const auto& s : cur->segments) Release(s.data_id, &b, released);
  b.Delete(codec::ObjectKey(bucket, key));
  return kv_->Write(b, sync_);
}

// One pass over the keys from max(prefix, start_after): keys are emitted as they come;
// a key that has the delimiter after the prefix yields its common prefix, and the
// iterator then seeks past every key under that prefix, so the cost grows with what is
// returned, not with the keys beneath the prefixes.
Result<ListPage> KvIndex::ListObjects(const std::string& bucket, const ListQuery& q) {
  SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
  ListPage page;
  if (q.max_keys == 0) return page;
  const std::string base = codec::ObjectPrefix(bucket);
  const std::string full_prefix = base + q.prefix;
  auto it = kv_->NewIterator();
  if (!q.start_after.empty() && q.start_after >= q.prefix) {
    std::string after = base + q.start_after;
    // A start_after that is itself a common prefix skips everything beneath it.
    if (!q.delimiter.empty() && q.start_after.size() >= q.prefix.size() + q.delimiter.size() &&
        StartsWith(q.start_after, q.prefix) &&
        q.start_after.compare(q.start_after.size() - q.delimiter.size(), q.delimiter.size(),
                              q.delimiter) == 0 &&
        q.start_after.find(q.delimiter, q.prefix.size()) ==
            q.start_after.size() - q.delimiter.size()) {
      it->Seek(codec::PrefixSuccessor(after));
    } else {
      after.push_back('\0');  // the first key after start_after
      it->Seek(after);
    }
  } else {
    it->Seek(full_prefix);
  }
  uint32_t count = 0;
  while (it->Valid() && StartsWith(it->key(), full_prefix)) {
    std::string_view key = it->key().substr(base.size());
    if (count == q.max_keys) {
      page.truncated = true;
      break;
    }
    if (!q.delimiter.empty()) {
      size_t pos = key.find(q.delimiter, q.prefix.size());
      if (pos != std::string_view::npos) {
        std::string cp(key.substr(0, pos + q.delimiter.size()));
        page.common_prefixes.push_back(cp);
        page.next_marker = cp;
        count++;
        std::string next = codec::PrefixSuccessor(base + cp);
        if (next.empty()) break;
        it->Seek(next);
        continue;
      }
    }
    ListEntry e;
    e.key.assign(key);
    SLUICE_RETURN_IF_ERROR(codec::DecodeObject(it->value(), &e.meta, /*listing_only=*/true));
    page.next_marker = e.key;
    page.objects.push_back(std::move(e));
    count++;
    it->Next();
  }
  SLUICE_RETURN_IF_ERROR(it->status());
  if (!page.truncated) page.next_marker.clear();
  return page;
}

Status KvIndex::CreateUpload(const std::string& bucket, const UploadInfo& info) {
  std::shared_lock bl(BucketLock(bucket));
  SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
  KvBatch b;
  b.Put(codec::UploadKey(bucket, info.key, info.upload_id), codec::EncodeUpload(info));
  return kv_->Write(b, sync_);
}

Result<UploadInfo> KvIndex::GetUpload(const std::string& bucket, const std::string& key,
                                      const std::string& upload_id) {
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

Status KvIndex::PutPart(const std::string& bucket, const std::string& key,
                        const std::string& upload_id, const PartInfo& part,
                        std::vector<std::string>* released) {
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
  return kv_->Write(b, sync_);
}

Result<std::vector<PartInfo>> KvIndex::ListParts(const std::string& upload_id, uint32_t marker,
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

Status KvIndex::ReleaseParts(const std::string& upload_id, KvBatch* batch,
                             std::vector<std::string>* released,
                             const std::vector<std::string>* keep) {
  SLUICE_ASSIGN_OR_RETURN(auto parts, ListParts(upload_id, 0, 0));
  for (const auto& p : parts) {
    batch->Delete(codec::PartKey(upload_id, p.number));
    if (!keep || std::find(keep->begin(), keep->end(), p.data_id) == keep->end())
      Release(p.data_id, batch, released);
  }
  return Status::Ok();
}

Status KvIndex::CompleteUpload(const std::string& bucket, const std::string& key,
                               const std::string& upload_id, const ObjectMeta& meta,
                               const WriteCondition& cond, std::vector<std::string>* released) {
  std::shared_lock bl(BucketLock(bucket));
  std::lock_guard kl(KeyLock(bucket, key));
  std::lock_guard ul(UploadLock(upload_id));
  SLUICE_RETURN_IF_ERROR(GetUpload(bucket, key, upload_id).status());
  Result<ObjectMeta> cur = GetObject(bucket, key);
  SLUICE_RETURN_IF_ERROR(CheckCondition(cur, cond));
  KvBatch b;
  std::vector<std::string> keep;
  for (const auto& s : meta.segments) keep.push_back(s.data_id);
  SLUICE_RETURN_IF_ERROR(ReleaseParts(upload_id, &b, released, &keep));
  if (cur.ok())
    for (const auto& s : cur->segments)
      if (std::find(keep.begin(), keep.end(), s.data_id) == keep.end())
        Release(s.data_id, &b, released);
  b.Delete(codec::UploadKey(bucket, key, upload_id));
  b.Put(codec::ObjectKey(bucket, key), codec::EncodeObject(meta));
  CompletedUpload done{bucket, key, meta.etag, meta.checksum_algo, meta.checksum_value,
                       meta.checksum_type, meta.mtime_micros};
  b.Put(codec::CompletedKey(upload_id), codec::EncodeCompleted(done));
  b.Put(codec::CompletedByAgeKey(meta.mtime_micros, upload_id), "");
  // Drop a few records past their retention, oldest first: each Complete adds one and may
  // drop up to 16, so they never pile up.
  const std::string age_prefix(1, codec::kCompletedByAge);
  const std::string cutoff =
      codec::CompletedByAgeKey(meta.mtime_micros - kCompletedUploadRetentionMicros, "");
  auto it = kv_->NewIterator();
  int dropped = 0;
  for (it->Seek(age_prefix); it->Valid() && dropped < 16 && it->key() < cutoff; it->Next(), dropped++) {
    std::string_view k = it->key();
    if (k.size() <= 9 || k[0] != codec::kCompletedByAge) break;
    b.Delete(std::string(k));
    b.Delete(codec::CompletedKey(k.substr(9)));
  }
  return kv_->Write(b, sync_);
}

Result<CompletedUpload> KvIndex::GetCompletedUpload(const std::string& upload_id) {
  std::string v;
  Status s = kv_->Get(codec::CompletedKey(upload_id), &v);
  if (s.code() == Err::kNotFound) return Error(Err::kNoSuchUpload, "");
  SLUICE_RETURN_IF_ERROR(s);
  CompletedUpload c;
  SLUICE_RETURN_IF_ERROR(codec::DecodeCompleted(v, &c));
  return c;
}

Status KvIndex::AbortUpload(const std::string& bucket, const std::string& key,
                            const std::string& upload_id, std::vector<std::string>* released) {
  std::shared_lock bl(BucketLock(bucket));
  std::lock_guard ul(UploadLock(upload_id));
  SLUICE_RETURN_IF_ERROR(GetUpload(bucket, key, upload_id).status());
  KvBatch b;
  SLUICE_RETURN_IF_ERROR(ReleaseParts(upload_id, &b, released, nullptr));
  b.Delete(codec::UploadKey(bucket, key, upload_id));
  return kv_->Write(b, sync_);
}

Result<UploadListPage> KvIndex::ListUploads(const std::string& bucket, const UploadListQuery& q) {
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
    if (!q.delimiter.empty()) {
      size_t pos = key.find(q.delimiter, q.prefix.size());
      if (pos != std::string_view::npos) {
        std::string cp(key.substr(0, pos + q.delimiter.size()));
        page.common_prefixes.push_back(cp);
        page.next_key_marker = cp;
        page.next_upload_id_marker.clear();
        count++;
        std::string next = codec::PrefixSuccessor(base + cp);
        if (next.empty()) break;
        it->Seek(next);
        continue;
      }
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

Result<bool> KvIndex::IsReferenced(const std::string& data_id) {
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

Status KvIndex::GcDone(const std::vector<std::string>& data_ids) {
  if (data_ids.empty()) return Status::Ok();
  KvBatch b;
  for (const auto& id : data_ids) b.Delete(codec::GcKey(id));
  // Not synced: forgetting a GC entry only means deleting an absent file again.
  return kv_->Write(b, false);
}

}  // namespace sluice::meta
