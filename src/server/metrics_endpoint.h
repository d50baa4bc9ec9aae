// GET /metrics: the Prometheus text format (docs/metrics.md).
//
// Who may scrape:
//   - anyone sending `Authorization: Bearer TOKEN` with the --metrics-token;
//   - a SigV4-signed request by a user allowed `sluice:GetMetrics` (root and admins are);
//   - without credentials, as --metrics-open says: "loopback" (the default: peers on this
//     host, the Unix socket included), "any", or "none".
// Anything else gets 401 (no credentials) or 403 (credentials that do not admit), in
// plain text.
//
// The request counters come from s3::RequestMetrics; gauges (connections, capacity, cache,
// replication and lifecycle progress) are read from their owners while rendering, on the
// blocking pool, since capacity on RADOS is a round trip to a monitor.
//
// Thread-safe; lives as long as the server, after everything it reads.
#pragma once

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <functional>
#include <string>
#include <vector>

#include "auth/credentials.h"
#include "auth/sigv4.h"
#include "common/async.h"
#include "common/metrics.h"
#include "http/http.h"
#include "http/server.h"
#include "io/env.h"
#include "meta/api/index.h"
#include "s3/lifecycle_worker.h"
#include "s3/read_cache.h"
#include "s3/replication_worker.h"
#include "s3/request_metrics.h"

namespace sluice::server {

enum class MetricsOpen { kLoopback, kAny, kNone };

// Totals of the lifecycle passes since start, written by the lifecycle thread.
struct LifecycleTotals {
  std::atomic<uint64_t> passes{0}, failed_passes{0}, expired{0}, noncurrent_removed{0},
      markers_removed{0}, uploads_aborted{0}, locked{0};
  std::atomic<int64_t> last_pass_micros{0};
  void Add(const s3::LifecycleStats& s, int64_t now_micros);
};

class MetricsEndpoint {
 public:
  struct Sources {
    s3::RequestMetrics* requests = nullptr;
    const http::Server* server = nullptr;                 // set once the server exists
    std::function<Result<io::SpaceInfo>()> space;         // the data's home; may block
    std::string space_of;                                 // "disk" or "cluster", for the label
    const metrics::HistogramBlock* file_syncs = nullptr;  // [file fdatasync, dir fsync]
    const metrics::HistogramBlock* index_commits = nullptr;
    meta::Index* index = nullptr;  // bucket usage; may block
    size_t max_buckets = 1000;     // buckets with their own usage labels
    const s3::ReadCache* cache = nullptr;
    const s3::ReplicationWorker* replication = nullptr;
    const LifecycleTotals* lifecycle = nullptr;
    std::function<uint64_t()> audit_failures;  // records the audit log could not write
    // The access log (server/log_sink.h): writes that failed, and lines held back.
    std::function<uint64_t()> access_log_failures;
    std::function<uint64_t()> access_log_waits;
  };
  struct Access {
    std::string token;  // empty: no bearer token admits
    MetricsOpen open = MetricsOpen::kLoopback;
  };

  MetricsEndpoint(Sources sources, Access access, const auth::CredentialStore* credentials,
                  const io::Clock* clock, boost::asio::thread_pool* blocking);

  // Before the server starts: requests read it unlocked.
  void set_server(const http::Server* server) { sources_.server = server; }

  // GET or HEAD of exactly /metrics, on a path-style host: a virtual-hosted bucket's key
  // "metrics" and a listing of a bucket named "metrics" (which always carries a query)
  // stay S3's.
  static bool IsMetricsRequest(const http::Request& req, const std::vector<std::string>& domains);

  Task<void> Handle(http::Request& req, http::Body& body, http::Responder& resp);

  // The whole exposition, as a scrape gets it. Blocks (capacity).
  std::string Render() const;

 private:
  // 0 when admitted, else 401 or 403, with the reason in *why.
  int Admit(const http::Request& req, std::string* why) const;

  Sources sources_;
  Access access_;
  const io::Clock* clock_;
  boost::asio::thread_pool* blocking_;
  auth::SigV4Verifier verifier_;
};

// Counts and times a request another handler answers (the admin API, STS) under `endpoint`;
// `metrics` null: just runs it.
Task<void> Metered(s3::RequestMetrics* metrics, const io::Clock* clock, s3::Endpoint endpoint,
                   http::Body& body, http::Responder& resp, Task<void> inner);

// "loopback", "any" or "none".
Result<MetricsOpen> ParseMetricsOpen(std::string_view s);

}  // namespace sluice::server
