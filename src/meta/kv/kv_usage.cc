// Bucket usage (docs/storage-format.md, "Usage"): every commit that changes O or V records
// adds a delta record of what it changed; a read sums the deltas and the folded base.
#include <map>
#include <mutex>

#include "meta/kv/codec.h"
#include "meta/kv/kv_index.h"

namespace sluice::meta {
namespace {

bool StartsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.compare(0, p.size(), p) == 0;
}

// What one record counts for: an O record is the key's current object; a V record is a
// stored version; an O record without a version id (an unversioned object) is both.
// Delete markers count for nothing.
void Count(char space, const ObjectMeta& m, int64_t sign, BucketUsage* d) {
  if (m.delete_marker) return;
  const int64_t size = static_cast<int64_t>(m.size) * sign;
  if (space == codec::kObject) {
    d->objects += sign;
    d->bytes += size;
    if (!m.version.empty()) return;
  }
  d->versions += sign;
  d->version_bytes += size;
}

}  // namespace

Status KvIndex::Commit(KvBatch& batch, bool sync, const Prior* prior) {
  if (!usage_writer_.empty()) SLUICE_RETURN_IF_ERROR(AddUsageDelta(&batch, prior));
  if (!commit_latency_ || !sync) return kv_->Write(batch, sync);
  const int64_t start = commit_clock_->MonotonicNanos();
  Status st = kv_->Write(batch, sync);
  commit_latency_->Observe(0, commit_clock_->MonotonicNanos() - start);
  return st;
}

Status KvIndex::AddUsageDelta(KvBatch* batch, const Prior* prior) {
  // The last operation on each O or V key says what the record becomes.
  std::map<std::string_view, const KvBatch::Op*> last;
  for (const auto& op : batch->ops())
    if (!op.key.empty() && (op.key[0] == codec::kObject || op.key[0] == codec::kVersion))
      last[op.key] = &op;
  if (last.empty()) return Status::Ok();
  const std::string prior_key = prior ? codec::ObjectKey(prior->bucket, prior->key) : std::string();
  std::vector<std::string> keys;
  keys.reserve(last.size());
  for (const auto& kv : last)
    if (kv.first != prior_key) keys.emplace_back(kv.first);
  if (!keys.empty())
    kv_->Prefetch(keys);  // one round trip on a shared store, for keys not read yet
  std::map<std::string, BucketUsage, std::less<>> deltas;
  for (const auto& [key, op] : last) {
    const size_t end = key.find('\0', 1);
    if (end == std::string_view::npos) continue;
    BucketUsage& d = deltas[std::string(key.substr(1, end - 1))];
    if (key == prior_key) {
      if (prior->cur) Count(key[0], *prior->cur, -1, &d);
    } else {
      std::string old;
      Status got = kv_->Get(key, &old);
      if (got.ok()) {
        ObjectMeta m;
        SLUICE_RETURN_IF_ERROR(codec::DecodeObjectSummary(old, &m));
        Count(key[0], m, -1, &d);
      } else if (got.code() != Err::kNotFound) {
        return got;
      }
    }
    if (op->put) {
      ObjectMeta m;
      SLUICE_RETURN_IF_ERROR(codec::DecodeObjectSummary(op->value, &m));
      Count(key[0], m, +1, &d);
    }
  }
  for (const auto& [bucket, d] : deltas) {
    if (d.empty()) continue;
    batch->Put(codec::UsageDeltaKey(bucket, usage_writer_, usage_seq_->fetch_add(1)),
               codec::EncodeUsage(d));
  }
  return Status::Ok();
}

Result<BucketUsage> KvIndex::ReadBucketUsage(const BucketName& bucket, size_t* deltas) {
  if (usage_writer_.empty()) return Status(Err::kNotImplemented, "this index keeps no usage");
  SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
  const std::string prefix = codec::UsagePrefix(bucket);
  const std::string base = codec::UsageBaseKey(bucket);
  BucketUsage sum;
  size_t n = 0;
  // One consistent read: RocksDB iterates a snapshot; a shared store's guarded range read
  // fails (and the call runs again) when a page changed under it.
  auto it = kv_->NewIterator();
  for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix); it->Next()) {
    BucketUsage u;
    SLUICE_RETURN_IF_ERROR(codec::DecodeUsage(it->value(), &u));
    sum.Add(u);
    if (it->key() != base) n++;
  }
  SLUICE_RETURN_IF_ERROR(it->status());
  if (deltas) *deltas = n;
  return sum;
}

Result<BucketUsage> KvIndex::GetBucketUsage(const BucketName& bucket) {
  size_t deltas = 0;
  SLUICE_ASSIGN_OR_RETURN(BucketUsage u, ReadBucketUsage(bucket, &deltas));
  if (deltas > kFoldUsageAfter) SLUICE_RETURN_IF_ERROR(FoldUsage(bucket));
  return u;
}

Status KvIndex::FoldUsage(const BucketName& bucket) {
  if (usage_writer_.empty()) return Status::Ok();
  std::lock_guard l(usage_fold_mu_);
  const std::string prefix = codec::UsagePrefix(bucket);
  const std::string base = codec::UsageBaseKey(bucket);
  std::vector<std::string> keys = {base};
  {
    auto it = kv_->NewUnguardedIterator();
    for (it->Seek(prefix);
         it->Valid() && StartsWith(it->key(), prefix) && keys.size() <= kFoldUsageChunk; it->Next())
      if (it->key() != base) keys.emplace_back(it->key());
    SLUICE_RETURN_IF_ERROR(it->status());
  }
  if (keys.size() < 2) return Status::Ok();
  // Each record read again by Get, which a shared store guards: the fold commits only if
  // the base and every delta are as read.
  kv_->Prefetch(keys);
  BucketUsage sum;
  KvBatch b;
  for (const auto& k : keys) {
    std::string v;
    Status got = kv_->Get(k, &v);
    if (got.code() == Err::kNotFound) {
      if (k == base) continue;
      return Status::Ok();  // another fold took it first
    }
    SLUICE_RETURN_IF_ERROR(got);
    BucketUsage u;
    SLUICE_RETURN_IF_ERROR(codec::DecodeUsage(v, &u));
    sum.Add(u);
    if (k != base) b.Delete(k);
  }
  b.Put(base, codec::EncodeUsage(sum));
  return kv_->Write(b, sync_);
}

Status KvIndex::RecountUsage(const BucketName& bucket) {
  if (usage_writer_.empty()) return Status(Err::kNotImplemented, "this index keeps no usage");
  std::unique_lock bl(BucketLock(bucket));  // no write lands in the bucket meanwhile
  SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
  BucketUsage sum;
  auto it = kv_->NewIterator();
  for (const std::string& prefix : {codec::ObjectPrefix(bucket), codec::VersionPrefix(bucket)}) {
    for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix); it->Next()) {
      ObjectMeta m;
      SLUICE_RETURN_IF_ERROR(codec::DecodeObjectSummary(it->value(), &m));
      Count(prefix[0], m, +1, &sum);
    }
    SLUICE_RETURN_IF_ERROR(it->status());
  }
  KvBatch b;
  const std::string prefix = codec::UsagePrefix(bucket);
  for (it->Seek(prefix); it->Valid() && StartsWith(it->key(), prefix); it->Next())
    b.Delete(std::string(it->key()));
  SLUICE_RETURN_IF_ERROR(it->status());
  b.Put(codec::UsageBaseKey(bucket), codec::EncodeUsage(sum));
  return kv_->Write(b, sync_);
}

}  // namespace sluice::meta
