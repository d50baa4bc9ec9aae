// The replication worker (docs/replication.md): copies what each bucket's replication queue
// (meta::Index::ListReplicationQueue) holds to the bucket its rules name, then ends the task
// with COMPLETED or FAILED in the same index step that drops it. A task whose copy fails for a
// reason that may pass (the store or the destination unavailable) stays queued and is retried
// with exponential backoff (and when the target itself is down or throttling, every task
// for it waits, with one probe per backoff step, so a long outage costs one request per step
// and a target back up is used again within half a minute); the versions of one key go in the order
// they were written, so a key whose task waits holds back that key's later tasks, and only those.
// Writes to the source never wait on any of this: they only add a record to the queue.
//
// A pass copies up to `parallel` keys at once, each on its own thread, with the bounded
// streaming copy of s3/object_io.h: memory per copy is one I/O buffer, whatever the size.
// Copies are idempotent: a copy already at the destination (a crash after the copy and
// before the task ended) is found there by its version id and not written twice.
//
// Thread-compatible: one thread runs passes (the server's replication thread, or a test).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "s3/context.h"
#include "s3/replication.h"

namespace sluice::s3 {

struct ReplicationStats {
  uint64_t buckets = 0;    // with a replication configuration
  uint64_t queued = 0;     // tasks seen in the queues this pass
  uint64_t completed = 0;  // copies (and markers) written
  uint64_t bytes = 0;      // object bytes copied
  uint64_t failed = 0;     // ended FAILED: can never succeed as configured
  uint64_t retrying = 0;   // left queued for a later attempt
  uint64_t dropped = 0;    // their version was gone before it was copied
};

// A task waiting for its next attempt, for `sluice admin replication status`.
struct ReplicationBacklogEntry {
  std::string bucket, key, version, last_error;
  uint32_t attempts = 0;
  int64_t next_attempt_micros = 0;
};

// A task that ended FAILED (the last ones, newest last), for the status report.
struct ReplicationFailure {
  std::string bucket, key, version, error;
  int64_t when_micros = 0;
};

// What a resync queued again.
struct ResyncCounts {
  uint64_t failed = 0;    // FAILED versions queued again
  uint64_t existing = 0;  // versions from before the rule (no status) queued
  uint64_t skipped = 0;   // unversioned ("null") objects, which are never replicated
};

// A bucket's backlog, read from its queue.
struct ReplicationBacklog {
  uint64_t objects = 0;
  uint64_t bytes = 0;          // of the first kBacklogSized tasks
  bool bytes_partial = false;  // more tasks than that were queued
  int64_t oldest_micros = 0;   // when the oldest queued version was written; 0: none
};
inline constexpr uint64_t kBacklogSized = 10000;

class ReplicationWorker {
 public:
  explicit ReplicationWorker(const Services& svc, int parallel = 8);
  // One pass over every bucket with a replication configuration.
  Result<ReplicationStats> RunOnce();
  // The tasks waiting for a retry, and the totals since start. Any thread.
  std::vector<ReplicationBacklogEntry> Waiting() const;
  ReplicationStats Totals() const;
  std::vector<ReplicationFailure> RecentFailures() const;
  // Objects and bytes completed per second over about the last minute.
  std::pair<double, double> Throughput() const;

  // Queues `bucket`'s FAILED versions again and, with `existing`, the versions written
  // before its rules that they select (ExistingObjectReplication). Any thread.
  Result<ResyncCounts> Resync(const BucketName& bucket, bool existing);
  // The bucket's queue: how many, how many bytes, since when. Any thread.
  Result<ReplicationBacklog> Backlog(const BucketName& bucket);

 private:
  enum class Outcome { kCompleted, kFailed, kRetry, kDropped };
  struct Attempt {
    Outcome outcome;
    std::string error;
    uint64_t bytes = 0;
    bool target_down = false;  // the target did not answer, or asked us to slow down
  };
  struct Retry {
    uint32_t attempts = 0;
    int64_t next_micros = 0;
    std::string last_error;
    std::string key, version;
    std::string dest;  // the destination it waits for
  };
  Status RefreshConfigs();
  // Runs the one-time copy of existing objects of configurations that ask for it.
  void BackfillExisting();
  Status RunBucket(const BucketName& bucket, const ReplicationConfig& config,
                   ReplicationStats* stats);
  // Copies one task's version and ends the task unless it is to be retried.
  Attempt Replicate(const BucketName& bucket, const ReplicationConfig& config,
                    const meta::ReplicationTask& task);
  Attempt Copy(const BucketName& bucket, const ReplicationRule& rule,
               const meta::ReplicationTask& task, const meta::ObjectMeta& m);
  Attempt CopyRemote(const BucketName& bucket, const ReplicationRule& rule,
                     const meta::ReplicationTask& task, const meta::ObjectMeta& m);

  const Services& svc_;
  const int parallel_;
  std::atomic<bool> configs_dirty_{true};
  int64_t configs_read_micros_ = 0;
  std::map<std::string, std::shared_ptr<const ReplicationConfig>> configs_;  // by bucket
  mutable std::mutex mu_;                                                    // retries_ and totals_
  std::map<std::string, Retry> retries_;  // by bucket NUL task id
  // A target that is down or throttling: every task for it waits until next_micros, when
  // one attempt probes it (so a target back up is used again within kMaxTargetBackoff).
  std::map<std::string, Retry> target_backoff_;  // by destination
  ReplicationStats totals_;
  std::deque<ReplicationFailure> failures_;
  std::deque<std::tuple<int64_t, uint64_t, uint64_t>> samples_;  // time, completed, bytes
};

}  // namespace sluice::s3
