// What the front door records of every request it answers, for GET /metrics
// (docs/metrics.md): counts by operation and HTTP status, full-duration latency histograms
// by operation (from the request head parsed to the last byte written), bytes in and out,
// requests in flight, errors by S3 code, and per-bucket counts and bytes.
//
// Cardinality is bounded by construction: operations and S3 codes are fixed lists, HTTP
// statuses are those the error table can produce plus the success codes (anything else
// counts as "other"), and buckets get a slot on their first successful request, up to
// `max_buckets`; requests to further buckets, and failed requests to a bucket without a
// slot, count under the bucket label "_other". A slot is never reused, so a counter never
// goes back.
//
// Thread-safe. Finished costs relaxed atomic adds on per-thread cache lines; the bucket's
// slot comes from a per-thread cache of the last one, else from a map under a shared lock.
#pragma once

#include <array>
#include <cstdint>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/error.h"
#include "common/metrics.h"
#include "s3/router.h"

namespace sluice::s3 {

// What is measured besides the S3 operations.
enum class Endpoint {
  kUnrouted,  // refused before it was routed to an operation (a bad signature, a bad URI)
  kHealth,
  kReady,
  kMetrics,
  kAdmin,       // /_sluice/admin/v1/
  kAssumeRole,  // STS
  kConsole,     // /_sluice/console/: the web console's files
};

class RequestMetrics {
 public:
  explicit RequestMetrics(size_t max_buckets = 1000);

  // The slot of an operation or endpoint, for Record.
  static size_t Slot(Op op);
  static size_t Slot(Endpoint e);

  struct Outcome {
    size_t slot = 0;
    int status = 200;
    Err error = Err::kOk;     // the S3 code answered, for a failed request
    std::string_view bucket;  // empty: none
    uint64_t bytes_in = 0, bytes_out = 0;
    int64_t nanos = 0;
  };
  void Started() { live_.Add(0); }
  void Finished(const Outcome& o);

  void Render(metrics::TextWriter* w) const;

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  size_t StatusSlot(int status) const {
    return status >= 100 && status < 600 ? status_slot_[static_cast<size_t>(status)] : 0;
  }
  size_t BucketSlot(std::string_view bucket, bool success);
  size_t FindBucketSlot(std::string_view bucket, bool success);

  static constexpr size_t kPerBucket = 6;  // requests by 2xx..5xx, bytes in, bytes out
  const uint64_t id_;                      // unique per process: keys each thread's last-slot cache
  const size_t max_buckets_;
  std::array<uint8_t, 600> status_slot_{};  // 0: "other"
  std::vector<int> statuses_;               // slot -> status (slot 0 unused)
  metrics::CounterBlock requests_;          // [op][status slot]
  metrics::HistogramBlock latency_;         // [op]
  metrics::CounterBlock bytes_;             // [op][in, out]
  metrics::CounterBlock errors_;            // [Err]
  metrics::CounterBlock live_;              // started, finished
  metrics::CounterBlock buckets_;           // [bucket slot][kPerBucket]; the last slot is "_other"

  mutable std::shared_mutex mu_;  // the bucket slots
  std::unordered_map<std::string, size_t, StringHash, std::equal_to<>> bucket_slots_;
  std::vector<std::string> bucket_names_;
};

}  // namespace sluice::s3
