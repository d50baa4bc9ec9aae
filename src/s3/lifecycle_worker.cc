#include "s3/lifecycle_worker.h"

#include <spdlog/spdlog.h>

#include "s3/object_io.h"
#include "s3/versions.h"

namespace sluice::s3 {

Result<LifecycleStats> LifecycleWorker::RunOnce() {
  LifecycleStats stats;
  const int64_t now = svc_.clock->NowMicros();
  SLUICE_ASSIGN_OR_RETURN(auto buckets, svc_.index->backend().ListBuckets());
  for (const auto& b : buckets) {
    auto doc = svc_.index->backend().GetBucketConfig(b.name, kLifecycleConfig);
    if (!doc.ok()) {
      if (doc.status().code() == Err::kNotFound || doc.status().code() == Err::kNoSuchBucket)
        continue;
      return doc.status();
    }
    auto config = ParseLifecycle(*doc);
    if (!config.ok()) {  // stored only after validation: a failure here is corruption
      spdlog::error("bucket {}: stored lifecycle configuration does not parse: {}", b.name.str(),
                    config.status().ToString());
      continue;
    }
    stats.buckets++;
    SLUICE_RETURN_IF_ERROR(RunBucket(b, *config, now, &stats));
  }
  return stats;
}

Result<bool> LifecycleWorker::Remove(const BucketName& bucket, const std::string& key,
                                     const VersionId& version, int64_t now) {
  std::vector<std::string> released;
  meta::DeleteRequest req{version, NewVersionStamp(svc_, now), now, /*bypass_governance=*/false};
  auto r = svc_.index->backend().DeleteObject(bucket, ObjectKey::Trusted(key), req, &released);
  ReleaseData(svc_, std::move(released));
  if (!r.ok()) {
    if (r.status().code() == Err::kObjectLocked || r.status().code() == Err::kVersionHeld)
      return false;
    return r.status();
  }
  return true;
}

Status LifecycleWorker::AbortUploads(const meta::BucketInfo& bucket, const LifecycleRule& rule,
                                     int64_t now, LifecycleStats* stats) {
  meta::UploadListQuery q;
  q.prefix = rule.filter.prefix;
  for (;;) {
    SLUICE_ASSIGN_OR_RETURN(auto page, svc_.index->backend().ListUploads(bucket.name, q));
    for (const auto& u : page.uploads) {
      if (now < ExpiryAfterDays(u.initiated_micros, *rule.abort_incomplete_days)) continue;
      std::vector<std::string> released;
      Status s = svc_.index->backend().AbortUpload(bucket.name, u.key, u.upload_id, &released);
      ReleaseData(svc_, std::move(released));
      if (s.ok())
        stats->uploads_aborted++;
      else if (s.code() != Err::kNoSuchUpload)
        return s;
    }
    Pace();
    if (!page.truncated) return Status::Ok();
    q.key_marker = page.next_key_marker;
    q.upload_id_marker = page.next_upload_id_marker;
  }
}

// One stream over the bucket's versions. Within a key the first entry is the latest; every
// later one became noncurrent when the entry before it (its successor) was written.
Status LifecycleWorker::RunBucket(const meta::BucketInfo& bucket, const LifecycleConfig& config,
                                  int64_t now, LifecycleStats* stats) {
  for (const auto& rule : config.rules)
    if (rule.enabled && rule.abort_incomplete_days)
      SLUICE_RETURN_IF_ERROR(AbortUploads(bucket, rule, now, stats));
  bool any_version_rule = false;
  for (const auto& r : config.rules)
    any_version_rule |= r.enabled && (r.expiration_days || r.expiration_date ||
                                      r.expired_object_delete_marker || r.noncurrent_days);
  if (!any_version_rule) return Status::Ok();

  // A latest delete marker waits until the stream shows whether the key has other versions.
  std::optional<meta::VersionEntry> sole_marker;
  auto settle_marker = [&]() -> Status {
    if (!sole_marker) return Status::Ok();
    meta::VersionEntry m = std::move(*sole_marker);
    sole_marker.reset();
    for (const auto& r : config.rules) {
      if (!r.enabled || !r.expired_object_delete_marker || !r.filter.Matches(m.key, 0, {}))
        continue;
      SLUICE_ASSIGN_OR_RETURN(bool removed, Remove(bucket.name, m.key, m.meta.version, now));
      if (removed)
        stats->markers_removed++;
      else
        stats->locked++;
      break;
    }
    return Status::Ok();
  };
  // The tags of one version, read only when a rule's filter needs them.
  auto tags_of = [&](const meta::VersionEntry& e) -> meta::HeaderList {
    if (e.meta.delete_marker) return {};
    auto m =
        svc_.index->backend().GetObject(bucket.name, ObjectKey::Trusted(e.key), e.meta.version);
    return m.ok() ? m->tags : meta::HeaderList();
  };

  meta::VersionListQuery q;
  q.max_keys = 1000;
  std::string key;
  uint32_t index_in_key = 0;
  int64_t successor_mtime = 0;
  for (;;) {
    SLUICE_ASSIGN_OR_RETURN(auto page, svc_.index->backend().ListObjectVersions(bucket.name, q));
    for (const auto& e : page.entries) {
      stats->versions_seen++;
      if (e.key != key || e.is_latest) {
        SLUICE_RETURN_IF_ERROR(settle_marker());
        key = e.key;
        index_in_key = 0;
      }
      std::optional<meta::HeaderList> tags;
      auto matches = [&](const LifecycleRule& r) {
        if (r.filter.NeedsTags() && !tags) tags = tags_of(e);
        return r.filter.Matches(e.key, e.meta.size, tags ? *tags : meta::HeaderList());
      };
      if (index_in_key == 0) {
        if (e.meta.delete_marker) {
          sole_marker = e;
        } else {
          for (const auto& r : config.rules) {
            if (!r.enabled || (!r.expiration_days && !r.expiration_date) || !matches(r)) continue;
            int64_t at = r.expiration_days
                             ? ExpiryAfterDays(e.meta.mtime_micros, *r.expiration_days)
                             : *r.expiration_date;
            if (now < at) continue;
            SLUICE_ASSIGN_OR_RETURN(bool done, Remove(bucket.name, e.key, VersionId(), now));
            if (done)
              stats->expired++;
            else
              stats->locked++;
            break;
          }
        }
      } else {
        sole_marker.reset();                                 // the key has more than its marker
        const uint32_t noncurrent_index = index_in_key - 1;  // 0: the newest noncurrent
        for (const auto& r : config.rules) {
          if (!r.enabled || !r.noncurrent_days || !matches(r)) continue;
          if (noncurrent_index < r.newer_noncurrent_versions.value_or(0)) continue;
          if (now < ExpiryAfterDays(successor_mtime, *r.noncurrent_days)) continue;
          SLUICE_ASSIGN_OR_RETURN(bool done, Remove(bucket.name, e.key, e.meta.version, now));
          if (done)
            stats->noncurrent_removed++;
          else
            stats->locked++;
          break;
        }
      }
      successor_mtime = e.meta.mtime_micros;
      index_in_key++;
    }
    Pace();
    if (!page.truncated) break;
    q.key_marker = page.next_key_marker;
    q.version_id_marker = page.next_version_id_marker;
  }
  return settle_marker();
}

}  // namespace sluice::s3
