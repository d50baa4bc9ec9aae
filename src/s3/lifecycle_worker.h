// The lifecycle worker: applies every bucket's lifecycle rules (s3/lifecycle.h) as of the
// injected clock's now. One pass walks each configured bucket's versions in listing order
// (ListObjectVersions pages of 1,000), so memory stays bounded whatever a key's version
// count, and calls `pace` between pages so a pass never starves requests of the index or
// the CPU. Every removal goes through meta::Index, which refuses versions Object Lock
// protects or a snapshot shows; the worker counts those and moves on.
//
// Thread-compatible: one thread runs passes (the server's lifecycle thread, or a test).
#pragma once

#include <cstdint>
#include <functional>

#include "s3/context.h"
#include "s3/lifecycle.h"

namespace sluice::s3 {

struct LifecycleStats {
  uint64_t buckets = 0;
  uint64_t versions_seen = 0;
  uint64_t expired = 0;             // current versions expired (a marker, or removed)
  uint64_t noncurrent_removed = 0;  // noncurrent versions and markers removed for good
  uint64_t markers_removed = 0;     // expired object delete markers
  uint64_t uploads_aborted = 0;
  uint64_t locked = 0;  // removals refused: Object Lock, or a snapshot holds it
};

class LifecycleWorker {
 public:
  explicit LifecycleWorker(const Services& svc, std::function<void()> pace = {})
      : svc_(svc), pace_(std::move(pace)) {}
  Result<LifecycleStats> RunOnce();

 private:
  Status RunBucket(const meta::BucketInfo& bucket, const LifecycleConfig& config, int64_t now,
                   LifecycleStats* stats);
  Status AbortUploads(const meta::BucketInfo& bucket, const LifecycleRule& rule, int64_t now,
                      LifecycleStats* stats);
  // Removes a version (or expires the latest when `version` is empty); false when Object
  // Lock refused it.
  Result<bool> Remove(const BucketName& bucket, const std::string& key, const VersionId& version,
                      int64_t now);
  void Pace() {
    if (pace_) pace_();
  }

  const Services& svc_;
  std::function<void()> pace_;
};

}  // namespace sluice::s3
