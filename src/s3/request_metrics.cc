#include "s3/request_metrics.h"

#include <algorithm>
#include <atomic>
#include <mutex>

#include "s3/error_table.h"

namespace sluice::s3 {
namespace {

constexpr size_t kEndpoints = static_cast<size_t>(Endpoint::kConsole) + 1;
constexpr size_t kSlots = kOpCount + kEndpoints;
constexpr size_t kErrCount = static_cast<size_t>(Err::kInternal) + 1;
// The success and redirect codes an answer can carry besides the error table's.
constexpr int kSuccessStatuses[] = {100, 200, 204, 206, 301, 304, 307};

std::string_view SlotName(size_t slot) {
  if (slot < kOpCount) return OpName(static_cast<Op>(slot));
  switch (static_cast<Endpoint>(slot - kOpCount)) {
    case Endpoint::kUnrouted:
      return "Unrouted";
    case Endpoint::kHealth:
      return "Health";
    case Endpoint::kReady:
      return "Ready";
    case Endpoint::kMetrics:
      return "Metrics";
    case Endpoint::kAdmin:
      return "Admin";
    case Endpoint::kAssumeRole:
      return "AssumeRole";
    case Endpoint::kConsole:
      return "Console";
  }
  return "Unknown";
}

std::vector<int> KnownStatuses() {
  std::vector<int> s(std::begin(kSuccessStatuses), std::end(kSuccessStatuses));
  for (size_t e = 0; e < kErrCount; e++) s.push_back(LookupError(static_cast<Err>(e)).http_status);
  std::sort(s.begin(), s.end());
  s.erase(std::unique(s.begin(), s.end()), s.end());
  return s;
}

}  // namespace

size_t RequestMetrics::Slot(Op op) { return static_cast<size_t>(op); }
size_t RequestMetrics::Slot(Endpoint e) { return kOpCount + static_cast<size_t>(e); }

RequestMetrics::RequestMetrics(size_t max_buckets)
    : id_([] {
        static std::atomic<uint64_t> next{1};
        return next.fetch_add(1);
      }()),
      max_buckets_(max_buckets),
      statuses_([] {
        std::vector<int> v = {0};
        for (int s : KnownStatuses()) v.push_back(s);
        return v;
      }()),
      requests_(kSlots * statuses_.size()),
      latency_(kSlots, metrics::RequestLatencyBounds()),
      bytes_(kSlots * 2),
      errors_(kErrCount),
      live_(2),
      buckets_((max_buckets + 1) * kPerBucket) {
  for (size_t i = 1; i < statuses_.size(); i++)
    if (statuses_[i] >= 100 && statuses_[i] < 600)
      status_slot_[static_cast<size_t>(statuses_[i])] = static_cast<uint8_t>(i);
}

size_t RequestMetrics::BucketSlot(std::string_view bucket, bool success) {
  // The last bucket this thread found a slot for: most requests name the bucket the one
  // before did, and a slot never changes once given, so a hit needs no lock (a shared lock
  // is an atomic write to a line every I/O thread shares: 2% of a 4 KiB GET on two cores).
  struct Last {
    uint64_t owner = 0;
    std::string name;
    size_t slot = 0;
  };
  thread_local Last last;
  if (last.owner == id_ && last.name == bucket) return last.slot;
  const size_t slot = FindBucketSlot(bucket, success);
  if (slot != max_buckets_) {
    last.owner = id_;
    last.name.assign(bucket);
    last.slot = slot;
  }
  return slot;
}

size_t RequestMetrics::FindBucketSlot(std::string_view bucket, bool success) {
  {
    std::shared_lock l(mu_);
    auto it = bucket_slots_.find(bucket);
    if (it != bucket_slots_.end()) return it->second;
    if (!success || bucket_names_.size() >= max_buckets_) return max_buckets_;
  }
  std::unique_lock l(mu_);
  auto it = bucket_slots_.find(bucket);
  if (it != bucket_slots_.end()) return it->second;
  if (bucket_names_.size() >= max_buckets_) return max_buckets_;
  size_t slot = bucket_names_.size();
  bucket_names_.emplace_back(bucket);
  bucket_slots_.emplace(std::string(bucket), slot);
  return slot;
}

void RequestMetrics::Finished(const Outcome& o) {
  const size_t slot = std::min(o.slot, kSlots - 1);
  requests_.Add(slot * statuses_.size() + StatusSlot(o.status));
  latency_.Observe(slot, o.nanos);
  if (o.bytes_in) bytes_.Add(slot * 2, o.bytes_in);
  if (o.bytes_out) bytes_.Add(slot * 2 + 1, o.bytes_out);
  if (o.error != Err::kOk && o.status >= 400)
    errors_.Add(std::min(static_cast<size_t>(o.error), kErrCount - 1));
  if (!o.bucket.empty()) {
    const size_t b = BucketSlot(o.bucket, o.status < 400) * kPerBucket;
    const int cls = std::clamp(o.status / 100, 2, 5) - 2;
    buckets_.Add(b + static_cast<size_t>(cls));
    if (o.bytes_in) buckets_.Add(b + 4, o.bytes_in);
    if (o.bytes_out) buckets_.Add(b + 5, o.bytes_out);
  }
  live_.Add(1);
}

void RequestMetrics::Render(metrics::TextWriter* w) const {
  using metrics::Labels;
  w->Family("sluice_requests_total", "counter",
            "Requests answered, by API operation and HTTP status.");
  for (size_t op = 0; op < kSlots; op++) {
    for (size_t s = 0; s < statuses_.size(); s++) {
      uint64_t n = requests_.Sum(op * statuses_.size() + s);
      if (n == 0) continue;
      std::string status = s == 0 ? "other" : std::to_string(statuses_[s]);
      w->Sample("sluice_requests_total", Labels{{"op", SlotName(op)}, {"status", status}}, n);
    }
  }
  w->Family("sluice_request_duration_seconds", "histogram",
            "Full request duration, from the parsed request head to the last byte of the "
            "response written, by API operation.");
  for (size_t op = 0; op < kSlots; op++) {
    if (latency_.Read(op).count == 0) continue;
    w->Histogram("sluice_request_duration_seconds", Labels{{"op", SlotName(op)}}, latency_, op,
                 1e-9);
  }
  w->Family("sluice_received_bytes_total", "counter", "Request body bytes read, by API operation.");
  for (size_t op = 0; op < kSlots; op++)
    if (uint64_t n = bytes_.Sum(op * 2))
      w->Sample("sluice_received_bytes_total", Labels{{"op", SlotName(op)}}, n);
  w->Family("sluice_sent_bytes_total", "counter",
            "Response bytes written (headers excluded), by API operation.");
  for (size_t op = 0; op < kSlots; op++)
    if (uint64_t n = bytes_.Sum(op * 2 + 1))
      w->Sample("sluice_sent_bytes_total", Labels{{"op", SlotName(op)}}, n);
  w->Family("sluice_errors_total", "counter", "Requests answered with an error, by S3 error code.");
  for (size_t e = 0; e < kErrCount; e++)
    if (uint64_t n = errors_.Sum(e))
      w->Sample("sluice_errors_total", Labels{{"code", LookupError(static_cast<Err>(e)).code}}, n);
  w->Family("sluice_requests_in_flight", "gauge", "Requests begun and not yet answered.");
  const uint64_t started = live_.Sum(0), finished = live_.Sum(1);
  w->Sample("sluice_requests_in_flight", {}, started > finished ? started - finished : uint64_t{0});

  std::vector<std::string> names;
  {
    std::shared_lock l(mu_);
    names = bucket_names_;
  }
  names.emplace_back("_other");
  auto slot_of = [&](size_t i) { return i + 1 == names.size() ? max_buckets_ : i; };
  static constexpr std::string_view kClasses[] = {"2xx", "3xx", "4xx", "5xx"};
  w->Family("sluice_bucket_requests_total", "counter",
            "Requests naming a bucket, by bucket and status class. At most --metrics-max-buckets "
            "buckets are named; the rest count as \"_other\".");
  for (size_t i = 0; i < names.size(); i++)
    for (size_t c = 0; c < 4; c++)
      if (uint64_t n = buckets_.Sum(slot_of(i) * kPerBucket + c))
        w->Sample("sluice_bucket_requests_total",
                  Labels{{"bucket", names[i]}, {"class", kClasses[c]}}, n);
  w->Family("sluice_bucket_received_bytes_total", "counter", "Request body bytes read, by bucket.");
  for (size_t i = 0; i < names.size(); i++)
    if (uint64_t n = buckets_.Sum(slot_of(i) * kPerBucket + 4))
      w->Sample("sluice_bucket_received_bytes_total", Labels{{"bucket", names[i]}}, n);
  w->Family("sluice_bucket_sent_bytes_total", "counter", "Response bytes written, by bucket.");
  for (size_t i = 0; i < names.size(); i++)
    if (uint64_t n = buckets_.Sum(slot_of(i) * kPerBucket + 5))
      w->Sample("sluice_bucket_sent_bytes_total", Labels{{"bucket", names[i]}}, n);
  w->Family("sluice_metrics_bucket_slots", "gauge",
            "Buckets with their own labels, and the cap (--metrics-max-buckets).");
  w->Sample("sluice_metrics_bucket_slots", Labels{{"kind", "used"}},
            static_cast<uint64_t>(names.size() - 1));
  w->Sample("sluice_metrics_bucket_slots", Labels{{"kind", "max"}},
            static_cast<uint64_t>(max_buckets_));
}

}  // namespace sluice::s3
