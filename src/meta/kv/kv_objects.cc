// meta::Index over a KvStore: objects and their versions (reads, writes, deletes with
// Object Lock and snapshot holds, listings as of now or of a snapshot's instant). Buckets,
// configurations, documents, multipart uploads and GC are in kv_index.cc. The layout is
// docs/storage-format.md; the semantics docs/versions.md.
#include <algorithm>
#include <functional>

#include "common/strings.h"
#include "meta/kv/codec.h"
#include "meta/kv/kv_index.h"

namespace sluice::meta {
namespace {

bool StartsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.compare(0, p.size(), p) == 0;
}

// Object Lock: may this version be removed (or replaced) now?
Status CheckRemovable(const ObjectMeta& m, const DeleteRequest& r) {
  if (m.legal_hold)
    return Error(Err::kObjectLocked,
                 "Access Denied because object protected by object lock (a legal hold).");
  if (m.retention.mode.empty() || m.retention.until_micros <= r.now_micros) return Status::Ok();
  if (m.retention.mode == "GOVERNANCE" && r.bypass_governance) return Status::Ok();
  return Error(Err::kObjectLocked, "Access Denied because object protected by object lock (" +
                                       m.retention.mode + " retention).");
}

void ReleaseAll(const ObjectMeta& m, KvBatch* batch, std::vector<std::string>* released) {
  for (const auto& s : m.segments) {
    batch->Delete(codec::RefKey(s.data_id));
    batch->Put(codec::GcKey(s.data_id), "");
    if (released) released->push_back(s.data_id);
  }
}

}  // namespace

Status KvIndex::DecodeVersionRecord(std::string_view value, const BucketName& bucket,
                                    const ObjectKey& key, ObjectMeta* m) {
  bool elsewhere = false;
  SLUICE_RETURN_IF_ERROR(codec::DecodeObject(value, m, false, &elsewhere));
  if (!elsewhere) return Status::Ok();
  SLUICE_ASSIGN_OR_RETURN(auto cur, ReadCurrent(bucket, key));
  if (!cur || !(cur->version == m->version))
    return Error(Err::kCorruption,
                 "a version's inline bytes are missing from its current record: " + key.str());
  m->inline_data = std::move(cur->inline_data);
  return Status::Ok();
}

Result<std::optional<KvIndex::Found>> KvIndex::VersionAsOf(const BucketName& bucket,
                                                           const ObjectKey& key, int64_t at_micros,
                                                           bool with_inline) {
  const std::string prefix = codec::VersionKeyPrefix(bucket, key);
  auto it = kv_->NewIterator();
  // Newest first: the first record at or after (~at, 0) is the newest with micros <= at.
  it->Seek(codec::VersionKey(bucket, key, VersionId::Of(static_cast<uint64_t>(at_micros), 0)));
  SLUICE_RETURN_IF_ERROR(it->status());
  if (!it->Valid() || !StartsWith(it->key(), prefix) ||
      it->key().size() != prefix.size() + codec::kVersionStampSize)
    return std::optional<Found>();
  Found f{std::string(it->key()), {}};
  if (with_inline) {
    SLUICE_RETURN_IF_ERROR(DecodeVersionRecord(it->value(), bucket, key, &f.meta));
  } else {
    SLUICE_RETURN_IF_ERROR(codec::DecodeObject(it->value(), &f.meta));
  }
  return std::optional<Found>(std::move(f));
}

Result<ObjectMeta> KvIndex::GetObjectAsOf(const BucketName& source, const ObjectKey& key,
                                          int64_t at_micros) {
  SLUICE_ASSIGN_OR_RETURN(auto found, VersionAsOf(source, key, at_micros));
  if (found) {
    if (found->meta.delete_marker) return Error(Err::kNoSuchKey, key);
    return std::move(found->meta);
  }
  // A key never written while versioned: its unversioned object predates every snapshot.
  SLUICE_ASSIGN_OR_RETURN(auto cur, ReadCurrent(source, key));
  if (cur && cur->version.empty() && cur->mtime_micros <= at_micros) return std::move(*cur);
  SLUICE_RETURN_IF_ERROR(BucketExists(source));
  return Error(Err::kNoSuchKey, key);
}

Status KvIndex::CheckNotHeld(const BucketName& bucket, const ObjectKey& key,
                             const ObjectMeta& version) {
  const std::string zp = codec::SnapshotPrefix(bucket);
  auto it = kv_->NewIterator();
  for (it->Seek(zp); it->Valid() && StartsWith(it->key(), zp); it->Next()) {
    std::string name(it->key().substr(zp.size()));
    auto at = ParseUint(it->value());
    if (!at) return Error(Err::kCorruption, "bad snapshot record for " + name);
    const int64_t t = static_cast<int64_t>(*at);
    bool held;
    if (version.version.empty()) {  // an unversioned object predates every snapshot
      held = version.mtime_micros <= t;
    } else {
      SLUICE_ASSIGN_OR_RETURN(auto shown, VersionAsOf(bucket, key, t, /*with_inline=*/false));
      // A marker the view shows is held too: removing it would bring the key back into
      // the view.
      held = shown && shown->meta.version == version.version;
    }
    if (held)
      return Error(Err::kVersionHeld, "Access Denied: snapshot " + name +
                                          " holds this version of " + key.str() +
                                          "; remove the snapshot first.");
  }
  return it->status();
}

// ---- versions -------------------------------------------------------------------------
//
// A key's versions (docs/storage-format.md): every version and delete marker written in a
// versioned bucket is a V record, newest first; the null version is also named by its N
// pointer. The O record is a copy of the latest version when that is an object, and absent
// when it is a marker, so GET and ListObjects never look at V. An object written while the
// bucket was unversioned exists only as O (with no version fields); the first versioned
// write of its key moves it into V as the null version.

void KvIndex::PrefetchKey(const BucketName& bucket, const ObjectKey& key) {
  if (!prefetch_) return;
  kv_->Prefetch({codec::BucketKey(bucket), codec::ObjectKey(bucket, key),
                 codec::LatestMarkerKey(bucket, key), codec::NullVersionKey(bucket, key)});
}

Result<std::optional<ObjectMeta>> KvIndex::ReadCurrent(const BucketName& bucket,
                                                       const ObjectKey& key) {
  std::string v;
  Status s = kv_->Get(codec::ObjectKey(bucket, key), &v);
  if (s.code() == Err::kNotFound) return std::optional<ObjectMeta>();
  SLUICE_RETURN_IF_ERROR(s);
  ObjectMeta m;
  SLUICE_RETURN_IF_ERROR(codec::DecodeObject(v, &m));
  return std::optional<ObjectMeta>(std::move(m));
}

Result<std::optional<VersionId>> KvIndex::LatestMarker(const BucketName& bucket,
                                                       const ObjectKey& key) {
  std::string v;
  Status s = kv_->Get(codec::LatestMarkerKey(bucket, key), &v);
  if (s.code() == Err::kNotFound) return std::optional<VersionId>();
  SLUICE_RETURN_IF_ERROR(s);
  VersionId stamp;
  SLUICE_RETURN_IF_ERROR(codec::DecodeStamp(v, &stamp));
  return std::optional<VersionId>(stamp);
}

Result<std::optional<KvIndex::Found>> KvIndex::FindVersion(const BucketName& bucket,
                                                           const ObjectKey& key,
                                                           const VersionId& version) {
  std::string vkey;
  if (version.is_null()) {
    std::string stamp;
    Status s = kv_->Get(codec::NullVersionKey(bucket, key), &stamp);
    if (s.code() == Err::kNotFound) {
      // No null version in V: it is the unversioned O record, if there is one.
      SLUICE_ASSIGN_OR_RETURN(auto cur, ReadCurrent(bucket, key));
      if (!cur || !cur->version.empty()) return std::optional<Found>();
      return std::optional<Found>(Found{codec::ObjectKey(bucket, key), std::move(*cur)});
    }
    SLUICE_RETURN_IF_ERROR(s);
    VersionId at;
    SLUICE_RETURN_IF_ERROR(codec::DecodeStamp(stamp, &at));
    vkey = codec::VersionKey(bucket, key, at);
  } else {
    vkey = codec::VersionKey(bucket, key, version);
  }
  std::string v;
  Status s = kv_->Get(vkey, &v);
  if (s.code() == Err::kNotFound) return std::optional<Found>();
  SLUICE_RETURN_IF_ERROR(s);
  Found f{std::move(vkey), {}};
  SLUICE_RETURN_IF_ERROR(DecodeVersionRecord(v, bucket, key, &f.meta));
  // A stamp whose random half differs names another version (ids are exact).
  if (!f.meta.version.SameName(version)) return std::optional<Found>();
  return std::optional<Found>(std::move(f));
}

std::vector<Result<ObjectMeta>> KvIndex::GetObjects(const BucketName& bucket,
                                                    const std::vector<ObjectKey>& keys) {
  if (kv_->prefetches()) {
    std::vector<std::string> records;
    records.reserve(keys.size() + 1);
    records.push_back(codec::BucketKey(bucket));  // a missing key's answer depends on it
    for (const auto& k : keys) records.push_back(codec::ObjectKey(bucket, k));
    kv_->Prefetch(records);
  }
  return Index::GetObjects(bucket, keys);  // one by one, from what was prefetched
}

Result<ObjectMeta> KvIndex::GetObject(const BucketName& bucket, const ObjectKey& key,
                                      const VersionId& version) {
  if (version.empty()) {
    std::string v;
    Status s = kv_->Get(codec::ObjectKey(bucket, key), &v);
    if (s.ok()) {
      ObjectMeta m;
      SLUICE_RETURN_IF_ERROR(codec::DecodeObject(v, &m));
      return m;
    }
    if (s.code() != Err::kNotFound) return s;
    // Missing: say why (no bucket, a delete marker on top, or no version at all).
    SLUICE_ASSIGN_OR_RETURN(BucketInfo b, GetBucket(bucket));
    if (b.versioning != Versioning::kUnversioned) {
      SLUICE_ASSIGN_OR_RETURN(auto marker, LatestMarker(bucket, key));
      if (marker) {
        std::string rec;
        SLUICE_RETURN_IF_ERROR(kv_->Get(codec::VersionKey(bucket, key, *marker), &rec));
        ObjectMeta m;
        SLUICE_RETURN_IF_ERROR(codec::DecodeObject(rec, &m));
        return m;
      }
    }
    return Error(Err::kNoSuchKey, key);
  }
  SLUICE_ASSIGN_OR_RETURN(auto found, FindVersion(bucket, key, version));
  if (!found) {
    SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
    return Error(Err::kNoSuchVersion, version.ToString());
  }
  return std::move(found->meta);
}

Status KvIndex::CheckCondition(const std::optional<ObjectMeta>& current,
                               const WriteCondition& cond) {
  bool exists = current.has_value();
  if (cond.if_none_match_any && exists)
    return Error(Err::kPreconditionFailed,
                 "At least one of the pre-conditions you specified did not hold");
  if (cond.if_match && (!exists || current->etag != *cond.if_match)) {
    if (!exists) return Error(Err::kNoSuchKey, "");
    return Error(Err::kPreconditionFailed,
                 "At least one of the pre-conditions you specified did not hold");
  }
  if (cond.if_extends) {
    if (!exists || current->delete_marker)
      return Error(Err::kInvalidWriteOffset, "the object is gone: an offset of 0 creates it");
    const std::string& last =
        current->segments.empty() ? std::string() : current->segments.back().data_id;
    if (current->size != cond.if_extends->size || last != cond.if_extends->data_id)
      return Error(Err::kConditionalRequestConflict,
                   "another write to the object came between; read its size and append again");
  }
  return Status::Ok();
}

Result<uint64_t> KvIndex::PrepareNewVersion(const BucketName& bucket, const ObjectKey& key,
                                            const std::optional<ObjectMeta>& cur, bool migrate,
                                            KvBatch* batch, bool* marker_latest) {
  *marker_latest = false;
  if (cur && cur->version.empty()) {
    // The unversioned object becomes the null version, stamped with its write time.
    uint64_t at = cur->mtime_micros > 0 ? static_cast<uint64_t>(cur->mtime_micros) : 1;
    if (migrate) {
      ObjectMeta legacy = *cur;
      legacy.version = VersionId::NullAt(at, 0);
      batch->Put(codec::VersionKey(bucket, key, legacy.version), codec::EncodeObject(legacy));
      batch->Put(codec::NullVersionKey(bucket, key), codec::EncodeStamp(legacy.version));
    }
    return at;
  }
  if (cur) return cur->version.micros();
  // No O record: the key has no version, or its latest is a marker (then M names it).
  SLUICE_ASSIGN_OR_RETURN(auto marker, LatestMarker(bucket, key));
  *marker_latest = marker.has_value();
  return marker ? marker->micros() : 0;
}

Status KvIndex::DropNullVersion(const BucketName& bucket, const ObjectKey& key,
                                const std::optional<ObjectMeta>& cur, const DeleteRequest& request,
                                KvBatch* batch, std::vector<std::string>* released) {
  if (cur && cur->version.empty()) {  // the unversioned O record is the null version
    SLUICE_RETURN_IF_ERROR(CheckRemovable(*cur, request));
    ReleaseAll(*cur, batch, released);
    return Status::Ok();
  }
  SLUICE_ASSIGN_OR_RETURN(auto null, FindVersion(bucket, key, VersionId::Null()));
  if (!null) return Status::Ok();
  SLUICE_RETURN_IF_ERROR(CheckRemovable(null->meta, request));
  SLUICE_RETURN_IF_ERROR(CheckNotHeld(bucket, key, null->meta));
  ReleaseAll(null->meta, batch, released);
  batch->Delete(null->kv_key);
  batch->Delete(codec::NullVersionKey(bucket, key));
  return Status::Ok();
}

Result<WriteResult> KvIndex::WriteLatest(const BucketInfo& b, const ObjectKey& key,
                                         const std::optional<ObjectMeta>& cur, ObjectMeta m,
                                         int64_t now_micros, KvBatch* batch,
                                         std::vector<std::string>* released) {
  const BucketName& bucket = b.name;
  for (const auto& s : m.segments) batch->Put(codec::RefKey(s.data_id), "");
  // A tar object's member table, beside the record, under its first data id (it describes
  // those bytes and goes when they are collected: GcDone). A repeated name keeps the later
  // member, as extracting the archive would.
  if (!m.members.empty() && !m.segments.empty()) {
    const std::string& id = m.segments.front().data_id;
    for (const auto& e : m.members)
      batch->Put(codec::MemberKey(id, e.name), codec::EncodeMember(e));
    m.members.clear();
  }
  WriteResult r;
  bool marker_latest = false;  // the key's latest was a marker (its M record goes or moves)
  const DeleteRequest replace{{}, {}, now_micros, false};
  if (b.versioning == Versioning::kUnversioned) {
    if (cur) {
      SLUICE_RETURN_IF_ERROR(CheckRemovable(*cur, replace));
      for (const auto& s : cur->segments) {
        bool kept = std::any_of(m.segments.begin(), m.segments.end(),
                                [&](const Segment& n) { return n.data_id == s.data_id; });
        if (!kept) Release(s.data_id, batch, released);
      }
    }
    m.version = {};
  } else {
    const bool enabled = b.versioning == Versioning::kEnabled;
    // A replica keeps its source's id, once: sent again (a replay, or a resend that raced
    // the first copy's commit) it must not land beside itself under a shifted id.
    if (enabled && m.replication_status == kReplicationReplica && !m.version.empty()) {
      SLUICE_ASSIGN_OR_RETURN(auto there, FindVersion(bucket, key, m.version));
      if (there)
        return Error(Err::kAlreadyExists,
                     "version " + m.version.ToString() + " of " + key.str() + " exists");
    }
    SLUICE_ASSIGN_OR_RETURN(uint64_t latest,
                            PrepareNewVersion(bucket, key, cur, enabled, batch, &marker_latest));
    if (!enabled)
      SLUICE_RETURN_IF_ERROR(DropNullVersion(bucket, key, cur, replace, batch, released));
    // After the key's latest version (ids sort by time) and after the bucket's newest
    // snapshot (a write that raced it must not appear in it).
    uint64_t micros = std::max<uint64_t>(
        {m.version.micros(), latest + 1, static_cast<uint64_t>(b.last_snapshot_at) + 1});
    m.version = enabled ? VersionId::Of(micros, m.version.rand())
                        : VersionId::NullAt(micros, m.version.rand());
    r.version = m.version;
    // The outgoing latest kept its inline bytes only in O: its V record gets them back
    // (unless a Suspended write just dropped it as the null version).
    if (cur && !cur->version.empty() && !cur->inline_data.empty() &&
        (enabled || !cur->version.is_null()))
      batch->Put(codec::VersionKey(bucket, key, cur->version), codec::EncodeObject(*cur));
  }
  if (m.replication_status == kReplicationPending) {
    // Queued in the same batch as the version: a crash cannot commit one without the other.
    if (m.version.empty())
      m.replication_status.clear();  // unversioned: nothing to name
    else
      batch->Put(codec::ReplicationKey(bucket, m.version, key),
                 codec::EncodeReplication(m.version));
  }
  if (!m.version.empty()) {
    // A marker is never kept in O (DeleteObject removes the O record it writes here), so
    // only an object's V record may leave its bytes to O.
    batch->Put(codec::VersionKey(bucket, key, m.version),
               codec::EncodeObject(m, /*inline_elsewhere=*/!m.delete_marker));
    if (m.version.is_null())
      batch->Put(codec::NullVersionKey(bucket, key), codec::EncodeStamp(m.version));
    if (m.delete_marker)
      batch->Put(codec::LatestMarkerKey(bucket, key), codec::EncodeStamp(m.version));
    else if (marker_latest)
      batch->Delete(codec::LatestMarkerKey(bucket, key));
  }
  batch->Put(codec::ObjectKey(bucket, key), codec::EncodeObject(m));
  return r;
}

Result<WriteResult> KvIndex::PutObject(const BucketName& bucket, const ObjectKey& key,
                                       const ObjectMeta& meta, const WriteCondition& cond,
                                       std::vector<std::string>* released) {
  std::shared_lock bl(BucketLock(bucket));
  std::lock_guard kl(KeyLock(bucket, key));
  PrefetchKey(bucket, key);
  SLUICE_ASSIGN_OR_RETURN(BucketInfo b, GetBucket(bucket));
  SLUICE_ASSIGN_OR_RETURN(auto cur, ReadCurrent(bucket, key));
  SLUICE_RETURN_IF_ERROR(CheckCondition(cur, cond));
  KvBatch batch;
  SLUICE_ASSIGN_OR_RETURN(WriteResult r,
                          WriteLatest(b, key, cur, meta, meta.mtime_micros, &batch, released));
  const Prior prior{bucket, key, cur};
  SLUICE_RETURN_IF_ERROR(Commit(batch, sync_, &prior));
  return r;
}

// Rewrites one version's record with one attribute changed (never its data), and the O copy
// when that version is the latest.
Status KvIndex::UpdateAttributes(const BucketName& bucket, const ObjectKey& key,
                                 const VersionId& version,
                                 const std::function<Status(ObjectMeta*)>& change,
                                 const std::function<void(KvBatch*)>& also) {
  std::shared_lock bl(BucketLock(bucket));
  std::lock_guard kl(KeyLock(bucket, key));
  SLUICE_ASSIGN_OR_RETURN(auto cur, ReadCurrent(bucket, key));
  std::optional<Found> target;
  if (version.empty()) {
    if (!cur) {
      SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
      return Error(Err::kNoSuchKey, key);
    }
    if (!cur->version.empty()) {
      SLUICE_ASSIGN_OR_RETURN(target, FindVersion(bucket, key, cur->version));
    }
    if (!target) target = Found{codec::ObjectKey(bucket, key), *cur};
  } else {
    SLUICE_ASSIGN_OR_RETURN(target, FindVersion(bucket, key, version));
    if (!target) {
      SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
      return Error(Err::kNoSuchVersion, version.ToString());
    }
  }
  if (target->meta.delete_marker)
    return Error(Err::kMethodNotAllowed,
                 "The specified method is not allowed against this resource.");
  SLUICE_RETURN_IF_ERROR(change(&target->meta));
  KvBatch b;
  if (also) also(&b);
  std::string rec = codec::EncodeObject(target->meta);
  const std::string okey = codec::ObjectKey(bucket, key);
  if (target->kv_key != okey && cur && cur->version == target->meta.version) {
    // The latest: O holds the bytes, its V record does not.
    b.Put(target->kv_key, codec::EncodeObject(target->meta, /*inline_elsewhere=*/true));
    b.Put(okey, std::move(rec));
  } else {
    b.Put(target->kv_key, std::move(rec));
  }
  return Commit(b, sync_);
}

Status KvIndex::SetObjectTags(const BucketName& bucket, const ObjectKey& key,
                              const VersionId& version, const HeaderList& tags) {
  // A version that was replicated sends its new tags too, queued in this same step: a
  // COMPLETED one as a tags-only task; a PENDING one's queued task (which reads the tags
  // when it runs) is marked as changed, so that a copy already under way with the old
  // tags does not end it. A FAILED one waits for a resync; a REPLICA is never replicated.
  std::string qkey, qvalue;
  return UpdateAttributes(
      bucket, key, version,
      [&](ObjectMeta* m) {
        m->tags = tags;
        if (m->version.empty() || m->delete_marker) return Status::Ok();
        qkey = codec::ReplicationKey(bucket, m->version, key);
        if (m->replication_status == kReplicationCompleted) {
          m->replication_status = kReplicationPending;
          qvalue = codec::EncodeReplication(m->version, /*tags_only=*/true);
        } else if (m->replication_status == kReplicationPending) {
          std::string queued;
          Status s = kv_->Get(qkey, &queued);
          if (!s.ok() && s.code() != Err::kNotFound) return s;
          ReplicationTask t;
          const std::string rest = qkey.substr(codec::ReplicationPrefix(bucket).size());
          const bool decoded = s.ok() && codec::DecodeReplication(rest, queued, &t).ok();
          const size_t dot = t.record.find('.');
          const uint64_t changes =
              decoded && dot != std::string::npos ? std::stoull(t.record.substr(dot + 1)) : 0;
          qvalue = codec::EncodeReplication(m->version, decoded && t.tags_only, changes + 1);
        }
        return Status::Ok();
      },
      [&](KvBatch* b) {
        if (!qvalue.empty()) b->Put(qkey, qvalue);
      });
}

Status KvIndex::SetObjectAcl(const BucketName& bucket, const ObjectKey& key,
                             const VersionId& version, const std::string& acl) {
  return UpdateAttributes(bucket, key, version, [&](ObjectMeta* m) {
    m->acl = acl;
    return Status::Ok();
  });
}

namespace {
Status RequireObjectLock(const BucketInfo& b) {
  if (!b.lock.enabled)
    return Error(Err::kInvalidRequest, "Bucket is missing Object Lock Configuration");
  return Status::Ok();
}
}  // namespace

Status KvIndex::SetObjectRetention(const BucketName& bucket, const ObjectKey& key,
                                   const VersionId& version, const Retention& retention,
                                   bool bypass_governance, int64_t now_micros) {
  SLUICE_ASSIGN_OR_RETURN(BucketInfo b, GetBucket(bucket));
  SLUICE_RETURN_IF_ERROR(RequireObjectLock(b));
  return UpdateAttributes(bucket, key, version, [&](ObjectMeta* m) {
    const Retention& cur = m->retention;
    const bool active = !cur.mode.empty() && cur.until_micros > now_micros;
    const bool extends = retention.mode == cur.mode && retention.until_micros >= cur.until_micros;
    if (active && !extends && !(cur.mode == "GOVERNANCE" && bypass_governance))
      return Error(Err::kObjectLocked, cur.mode == "COMPLIANCE"
                                           ? "A COMPLIANCE retention can only be extended."
                                           : "Shortening, removing or changing a GOVERNANCE "
                                             "retention needs x-amz-bypass-governance-retention "
                                             "and s3:BypassGovernanceRetention.");
    m->retention = retention;
    return Status::Ok();
  });
}

Status KvIndex::SetObjectLegalHold(const BucketName& bucket, const ObjectKey& key,
                                   const VersionId& version, bool on) {
  SLUICE_ASSIGN_OR_RETURN(BucketInfo b, GetBucket(bucket));
  SLUICE_RETURN_IF_ERROR(RequireObjectLock(b));
  return UpdateAttributes(bucket, key, version, [&](ObjectMeta* m) {
    m->legal_hold = on;
    return Status::Ok();
  });
}

Result<WriteResult> KvIndex::DeleteObject(const BucketName& bucket, const ObjectKey& key,
                                          const DeleteRequest& request,
                                          std::vector<std::string>* released) {
  const VersionId& version = request.version;
  const VersionId& marker = request.marker;
  const int64_t now_micros = request.now_micros;
  std::shared_lock bl(BucketLock(bucket));
  std::lock_guard kl(KeyLock(bucket, key));
  PrefetchKey(bucket, key);
  SLUICE_ASSIGN_OR_RETURN(BucketInfo b, GetBucket(bucket));
  SLUICE_ASSIGN_OR_RETURN(auto cur, ReadCurrent(bucket, key));
  const Prior prior{bucket, key, cur};
  const std::string okey = codec::ObjectKey(bucket, key);
  KvBatch batch;
  WriteResult r;
  if (version.empty()) {
    if (b.versioning == Versioning::kUnversioned) {
      if (!cur) return r;
      SLUICE_RETURN_IF_ERROR(CheckRemovable(*cur, request));
      ReleaseAll(*cur, &batch, released);
      batch.Delete(okey);
      SLUICE_RETURN_IF_ERROR(Commit(batch, sync_, &prior));
      return r;
    }
    // A delete marker on top; in a Suspended bucket it replaces the null version.
    ObjectMeta m;
    m.delete_marker = true;
    m.mtime_micros = now_micros;
    m.version = marker;
    if (request.replica)
      m.replication_status = kReplicationReplica;
    else if (request.replicate_marker)
      m.replication_status = kReplicationPending;
    if (b.versioning == Versioning::kSuspended)
      m.version = VersionId::NullAt(marker.micros(), marker.rand());
    SLUICE_ASSIGN_OR_RETURN(r,
                            WriteLatest(b, key, cur, std::move(m), now_micros, &batch, released));
    // WriteLatest wrote the marker into O as well: a marker is never current in O.
    batch.Delete(okey);
    r.delete_marker = true;
    SLUICE_RETURN_IF_ERROR(Commit(batch, sync_, &prior));
    return r;
  }

  // One version, for good.
  r.version = version.is_null() ? VersionId::Null() : version;
  SLUICE_ASSIGN_OR_RETURN(auto target, FindVersion(bucket, key, version));
  if (!target) return r;  // deleting what does not exist succeeds
  SLUICE_RETURN_IF_ERROR(CheckRemovable(target->meta, request));
  SLUICE_RETURN_IF_ERROR(CheckNotHeld(bucket, key, target->meta));
  r.delete_marker = target->meta.delete_marker;
  ReleaseAll(target->meta, &batch, released);
  batch.Delete(target->kv_key);
  if (target->kv_key == okey) {  // the unversioned object
    SLUICE_RETURN_IF_ERROR(Commit(batch, sync_, &prior));
    return r;
  }
  if (target->meta.version.is_null()) batch.Delete(codec::NullVersionKey(bucket, key));
  // Was it the latest? Then the next one down becomes the latest (or nothing is, or a marker).
  const std::string prefix = codec::VersionKeyPrefix(bucket, key);
  auto it = kv_->NewIterator();
  it->Seek(prefix);
  SLUICE_RETURN_IF_ERROR(it->status());
  if (it->Valid() && it->key() == target->kv_key) {
    it->Next();
    SLUICE_RETURN_IF_ERROR(it->status());
    std::optional<ObjectMeta> next;
    bool next_marker = false;
    if (it->Valid() && StartsWith(it->key(), prefix) &&
        it->key().size() == prefix.size() + codec::kVersionStampSize) {
      ObjectMeta n;
      SLUICE_RETURN_IF_ERROR(codec::DecodeObject(it->value(), &n));
      if (n.delete_marker) {
        next_marker = true;
        batch.Put(codec::LatestMarkerKey(bucket, key), codec::EncodeStamp(n.version));
      } else {
        next = std::move(n);
      }
    }
    if (!next_marker && target->meta.delete_marker)
      batch.Delete(codec::LatestMarkerKey(bucket, key));
    if (next)
      batch.Put(okey, codec::EncodeObject(*next));
    else
      batch.Delete(okey);
  }
  SLUICE_RETURN_IF_ERROR(Commit(batch, sync_, &prior));
  return r;
}

// One pass over the keys from max(prefix, start_after): keys are emitted as they come;
// a key that has the delimiter after the prefix yields its common prefix, and the
// iterator then seeks past every key under that prefix, so the cost grows with what is
// returned, not with the keys beneath the prefixes.
Result<ListPage> KvIndex::ListObjects(const BucketName& bucket, const ListQuery& q) {
  if (q.as_of_micros > 0) return ListObjectsAsOf(bucket, q);
  ListPage page;
  if (q.max_keys == 0) {
    SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
    return page;
  }
  const std::string base = codec::ObjectPrefix(bucket);
  const std::string full_prefix = base + q.prefix;
  // The bucket record is read with the page's first entries (one round trip on RADOS), and
  // checked once the iterator has sought.
  kv_->ExpectScan(q.max_keys + 1, {codec::BucketKey(bucket)});
  kv_->ExpectListing(base);
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
  SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
  uint32_t count = 0;
  while (it->Valid() && StartsWith(it->key(), full_prefix)) {
    std::string_view key = it->key().substr(base.size());
    if (count == q.max_keys) {
      page.truncated = true;
      break;
    }
    if (auto cp = codec::CommonPrefixOf(key, q.prefix, q.delimiter)) {
      page.common_prefixes.push_back(*cp);
      page.next_marker = *cp;
      count++;
      std::string next = codec::PrefixSuccessor(base + *cp);
      if (next.empty()) break;
      it->Seek(next);
      continue;
    }
    // Decoded in place: an entry is large, and a page has a thousand.
    if (page.objects.empty()) page.objects.reserve(std::min<size_t>(q.max_keys, 1000));
    ListEntry& e = page.objects.emplace_back();
    e.key.assign(key);
    // The leading fields are all a listing needs (the rest may hold inline bytes).
    if (!codec::DecodeObject(it->head(), &e.meta, /*listing_only=*/true).ok())
      SLUICE_RETURN_IF_ERROR(codec::DecodeObject(it->value(), &e.meta, /*listing_only=*/true));
    page.next_marker = e.key;
    count++;
    it->Next();
  }
  SLUICE_RETURN_IF_ERROR(it->status());
  if (!page.truncated) page.next_marker.clear();
  return page;
}

namespace {
bool IsCommonPrefixMarker(const std::string& marker, const std::string& prefix,
                          const std::string& delimiter);
}  // namespace

// A listing of the view as of q.as_of_micros (a snapshot's). Keys come from two sorted
// streams, as in ListObjectVersions: V (keys written while versioned) and unversioned O
// records. For a V key one seek finds the newest version at or before the instant and one
// more skips the key's other versions, so a page costs two seeks per key, however many
// versions a key has.
Result<ListPage> KvIndex::ListObjectsAsOf(const BucketName& bucket, const ListQuery& q) {
  SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
  ListPage page;
  if (q.max_keys == 0) return page;
  const std::string vbase = codec::VersionPrefix(bucket), obase = codec::ObjectPrefix(bucket);
  const std::string vfull = vbase + q.prefix, ofull = obase + q.prefix;
  auto vit = kv_->NewIterator();
  auto oit = kv_->NewIterator();
  if (!q.start_after.empty() && q.start_after >= q.prefix) {
    if (IsCommonPrefixMarker(q.start_after, q.prefix, q.delimiter)) {
      vit->Seek(codec::PrefixSuccessor(vbase + q.start_after));
      oit->Seek(codec::PrefixSuccessor(obase + q.start_after));
    } else {
      vit->Seek(vbase + q.start_after + '\x01');
      oit->Seek(obase + q.start_after + '\0');
    }
  } else {
    vit->Seek(vfull);
    oit->Seek(ofull);
  }
  // The next visible entry or common prefix, advancing both streams past it.
  struct Item {
    bool prefix = false;
    ListEntry entry;
  };
  auto next = [&]() -> Result<std::optional<Item>> {
    for (;;) {
      SLUICE_RETURN_IF_ERROR(vit->status());
      SLUICE_RETURN_IF_ERROR(oit->status());
      bool v_ok = vit->Valid() && StartsWith(vit->key(), vfull);
      bool o_ok = oit->Valid() && StartsWith(oit->key(), ofull);
      if (!v_ok && !o_ok) return std::optional<Item>();
      std::string_view vk = v_ok
                                ? vit->key().substr(vbase.size(), vit->key().size() - vbase.size() -
                                                                      1 - codec::kVersionStampSize)
                                : std::string_view();
      std::string_view ok = o_ok ? oit->key().substr(obase.size()) : std::string_view();
      const bool from_v = v_ok && (!o_ok || vk <= ok);
      std::string key(from_v ? vk : ok);
      if (auto cp = codec::CommonPrefixOf(key, q.prefix, q.delimiter)) {
        Item it;
        it.prefix = true;
        it.entry.key = std::move(*cp);
        vit->Seek(codec::PrefixSuccessor(vbase + it.entry.key));
        oit->Seek(codec::PrefixSuccessor(obase + it.entry.key));
        return std::optional<Item>(std::move(it));
      }
      if (from_v) {
        if (o_ok && vk == ok) oit->Next();  // the O copy: V decides
        const ObjectKey k = ObjectKey::Trusted(key);
        SLUICE_ASSIGN_OR_RETURN(auto shown,
                                VersionAsOf(bucket, k, q.as_of_micros, /*with_inline=*/false));
        vit->Seek(vbase + key + '\x01');  // past the key's other versions
        if (shown && !shown->meta.delete_marker) {
          Item it;
          it.entry.key = std::move(key);
          it.entry.meta = std::move(shown->meta);
          it.entry.meta.inline_data.clear();
          it.entry.meta.segments.clear();
          return std::optional<Item>(std::move(it));
        }
        continue;
      }
      ObjectMeta m;
      SLUICE_RETURN_IF_ERROR(codec::DecodeObjectSummary(oit->value(), &m));
      oit->Next();
      if (m.version.empty() && m.mtime_micros <= q.as_of_micros) {
        Item it;
        it.entry.key = std::move(key);
        it.entry.meta = std::move(m);
        return std::optional<Item>(std::move(it));
      }
    }
  };
  uint32_t count = 0;
  for (;;) {
    SLUICE_ASSIGN_OR_RETURN(auto item, next());
    if (!item) break;
    if (count == q.max_keys) {
      page.truncated = true;
      break;
    }
    page.next_marker = item->entry.key;
    if (item->prefix)
      page.common_prefixes.push_back(std::move(item->entry.key));
    else
      page.objects.push_back(std::move(item->entry));
    count++;
  }
  if (!page.truncated) page.next_marker.clear();
  return page;
}

namespace {
// True when `marker` is a common prefix of the listing (prefix + ... + first delimiter).
bool IsCommonPrefixMarker(const std::string& marker, const std::string& prefix,
                          const std::string& delimiter) {
  return !delimiter.empty() && marker.size() >= prefix.size() + delimiter.size() &&
         StartsWith(marker, prefix) && marker.ends_with(delimiter) &&
         marker.find(delimiter, prefix.size()) == marker.size() - delimiter.size();
}
}  // namespace

// Two sorted streams merged by key: V (every version of keys written while versioned) and O
// records without version fields (unversioned objects, shown as the null version). A key
// with V records also has its latest in O, which is skipped. Starting points are computed
// from the markers, so a page costs one seek per stream plus one step per entry returned;
// a common prefix costs one seek per stream.
Result<VersionListPage> KvIndex::ListObjectVersions(const BucketName& bucket,
                                                    const VersionListQuery& q) {
  VersionListPage page;
  if (q.max_keys == 0) {
    SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
    return page;
  }
  const std::string vbase = codec::VersionPrefix(bucket);
  const std::string obase = codec::ObjectPrefix(bucket);
  // The bucket record comes with the V stream's first read (see ListObjects).
  kv_->ExpectScan(q.max_keys + 1, {codec::BucketKey(bucket)});
  auto vit = kv_->NewIterator();
  auto oit = kv_->NewIterator();
  bool mid_key = false;  // the V stream starts inside key_marker's versions
  if (!q.key_marker.empty() && q.key_marker >= q.prefix) {
    if (IsCommonPrefixMarker(q.key_marker, q.prefix, q.delimiter)) {
      vit->Seek(codec::PrefixSuccessor(vbase + q.key_marker));
      oit->Seek(codec::PrefixSuccessor(obase + q.key_marker));
    } else {
      std::string after_o = obase + q.key_marker;
      after_o.push_back('\0');
      oit->Seek(after_o);
      std::string after_v = vbase + q.key_marker;
      after_v.push_back('\x01');  // past every version of key_marker
      if (!q.version_id_marker.empty()) {
        const ObjectKey km = ObjectKey::Trusted(q.key_marker);
        VersionId at = q.version_id_marker;
        bool found = true;
        if (at.is_null()) {
          std::string stamp;
          Status s = kv_->Get(codec::NullVersionKey(bucket, km), &stamp);
          if (s.ok()) {
            SLUICE_RETURN_IF_ERROR(codec::DecodeStamp(stamp, &at));
          } else if (s.code() == Err::kNotFound) {
            found = false;  // an unversioned null version: nothing of the key in V follows it
          } else {
            return s;
          }
        }
        if (found) {
          after_v = codec::VersionKey(bucket, km, at);
          after_v.push_back('\0');
          mid_key = true;
        }
      }
      vit->Seek(after_v);
    }
  } else {
    vit->Seek(vbase + q.prefix);
    oit->Seek(obase + q.prefix);
  }
  SLUICE_RETURN_IF_ERROR(BucketExists(bucket));
  const std::string vfull = vbase + q.prefix, ofull = obase + q.prefix;
  auto vkey_of = [&](std::string_view k) {
    return k.substr(vbase.size(), k.size() - vbase.size() - 1 - codec::kVersionStampSize);
  };
  uint32_t count = 0;
  std::string last_key;
  VersionId last_version;
  while (true) {
    bool v_ok = vit->Valid() && StartsWith(vit->key(), vfull);
    bool o_ok = oit->Valid() && StartsWith(oit->key(), ofull);
    SLUICE_RETURN_IF_ERROR(vit->status());
    SLUICE_RETURN_IF_ERROR(oit->status());
    if (!v_ok && !o_ok) break;
    std::string_view vk = v_ok ? vkey_of(vit->key()) : std::string_view();
    std::string_view ok = o_ok ? oit->key().substr(obase.size()) : std::string_view();
    bool from_v = v_ok && (!o_ok || vk <= ok);
    std::string key(from_v ? vk : ok);
    if (count == q.max_keys) {
      page.truncated = true;
      break;
    }
    if (auto cp = codec::CommonPrefixOf(key, q.prefix, q.delimiter)) {
      page.common_prefixes.push_back(*cp);
      last_key = *cp;
      last_version = {};
      count++;
      mid_key = false;
      std::string vnext = codec::PrefixSuccessor(vbase + *cp);
      std::string onext = codec::PrefixSuccessor(obase + *cp);
      if (vnext.empty() || onext.empty()) break;
      vit->Seek(vnext);
      oit->Seek(onext);
      continue;
    }
    if (!from_v) {
      // An unversioned object: the key's only version, null, and the latest.
      VersionEntry e;
      e.key = key;
      SLUICE_RETURN_IF_ERROR(codec::DecodeObjectSummary(oit->value(), &e.meta));
      if (e.meta.version.empty()) {
        e.meta.version = VersionId::Null();
        e.is_latest = true;
        last_key = key;
        last_version = e.meta.version;
        page.entries.push_back(std::move(e));
        count++;
      }
      oit->Next();
      continue;
    }
    if (o_ok && vk == ok) oit->Next();  // the O copy of this key's latest
    // This key's versions, newest first, while the page has room. Resuming inside
    // key_marker's versions, the first one met is not the latest.
    bool first = !(mid_key && key == q.key_marker);
    mid_key = false;
    const std::string kprefix(vit->key().substr(0, vit->key().size() - codec::kVersionStampSize));
    while (vit->Valid() && StartsWith(vit->key(), kprefix) &&
           vit->key().size() == kprefix.size() + codec::kVersionStampSize) {
      if (count == q.max_keys) break;
      VersionEntry e;
      e.key = key;
      SLUICE_RETURN_IF_ERROR(codec::DecodeObjectSummary(vit->value(), &e.meta));
      e.is_latest = first;
      first = false;
      last_key = key;
      last_version = e.meta.version.is_null() ? VersionId::Null() : e.meta.version;
      page.entries.push_back(std::move(e));
      count++;
      vit->Next();
    }
    SLUICE_RETURN_IF_ERROR(vit->status());
    if (count == q.max_keys && vit->Valid() && StartsWith(vit->key(), kprefix)) {
      page.truncated = true;
      break;
    }
  }
  if (page.truncated) {
    page.next_key_marker = last_key;
    page.next_version_id_marker = last_version;
  }
  return page;
}

}  // namespace sluice::meta
