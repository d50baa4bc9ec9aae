// Remote replication targets (docs/replication.md): another S3 endpoint a bucket's rules
// name as "arn:sluice:replication:::NAME". The S3 layer sees only these interfaces; the
// server wires in the implementation (server/replication_targets.h, over the client
// library). Calls block (the replication worker's threads make them).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/names.h"
#include "common/status.h"
#include "meta/api/types.h"

namespace sluice::s3 {

inline constexpr std::string_view kReplicationTargetArn = "arn:sluice:replication:::";

// Reads up to `n` bytes at `offset` of the version being replicated into `buf`; `*got`
// is 0 only past the end.
using ReplicaReader = std::function<Status(uint64_t offset, char* buf, size_t n, size_t* got)>;

// Errors: kAccessDenied, kNoSuchBucket, kInvalidRequest and kInvalidBucketState when the
// target refuses what it will keep refusing (the task ends FAILED); kServiceUnavailable
// or kSlowDown when it is down, slow or throttling (the task is retried with backoff).
class ReplicationTarget {
 public:
  virtual ~ReplicationTarget() = default;
  // Whether the target already holds `m` as a copy of version `m.version` of `key`: a
  // crash after the copy and before the task ended must not write it twice.
  virtual Result<bool> Holds(const ObjectKey& key, const meta::ObjectMeta& m) = 0;
  // Writes version `m` of `key`, its bytes streamed from `read` (never held whole), with
  // its metadata and tags, and checks that the target stored exactly those bytes.
  virtual Status Write(const ObjectKey& key, const meta::ObjectMeta& m,
                       const ReplicaReader& read) = 0;
  // Sets the tags of the copy of version `m` of `key` to m.tags (they changed after the
  // copy). False when the target has no such copy (then the version is written whole).
  // A target that names versions itself can only tag its latest: when that is not this
  // version's copy, the change is not sent and the result is true.
  virtual Result<bool> SetTags(const ObjectKey& key, const meta::ObjectMeta& m) = 0;
  // Writes the delete marker `m` of `key`.
  virtual Status WriteMarker(const ObjectKey& key, const meta::ObjectMeta& m) = 0;
};

class ReplicationTargets {
 public:
  virtual ~ReplicationTargets() = default;
  // kNotFound when no target of that name is registered.
  virtual Result<std::shared_ptr<ReplicationTarget>> Find(std::string_view name) = 0;
};

}  // namespace sluice::s3
