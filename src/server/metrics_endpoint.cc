#include "server/metrics_endpoint.h"

#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <boost/asio/ip/address.hpp>

#include "auth/authorizer.h"
#include "common/check.h"
#include "common/strings.h"

namespace sluice::server {
namespace {

using metrics::Labels;

bool IsLoopback(const std::string& ip) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(ip, ec);
  if (ec) return false;
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()).is_loopback();
  return a.is_loopback();
}

bool SameSecret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void Space(metrics::TextWriter* w, const MetricsEndpoint::Sources& s) {
  if (!s.space) return;
  auto space = s.space();
  w->Family("sluice_capacity_bytes", "gauge",
            "Size of what holds the data (the data directory's file system, or the whole Ceph "
            "cluster's raw capacity), by kind: total, used, free.");
  if (!space.ok()) {
    spdlog::warn("metrics: capacity unknown: {}", space.status().ToString());
    return;
  }
  w->Sample("sluice_capacity_bytes", Labels{{"of", s.space_of}, {"kind", "total"}}, space->total);
  w->Sample("sluice_capacity_bytes", Labels{{"of", s.space_of}, {"kind", "used"}}, space->used);
  w->Sample("sluice_capacity_bytes", Labels{{"of", s.space_of}, {"kind", "free"}}, space->free);
}

// Each bucket's usage as the index keeps it (exact, never a scan): the first max_buckets
// buckets by name get their own labels, the rest are summed under "_other".
void Usage(metrics::TextWriter* w, meta::Index* index, size_t max_buckets) {
  auto buckets = index->ListBuckets();
  if (!buckets.ok()) {
    spdlog::warn("metrics: listing buckets: {}", buckets.status().ToString());
    return;
  }
  std::vector<std::pair<std::string, meta::BucketUsage>> rows;
  meta::BucketUsage other;
  size_t named = 0;
  bool any_other = false;
  for (const auto& b : *buckets) {
    if (!b.snapshot_of.empty()) continue;
    auto u = index->GetBucketUsage(b.name);
    if (!u.ok()) {
      if (u.status().code() == Err::kNotImplemented) return;
      if (u.status().code() != Err::kNoSuchBucket)
        spdlog::warn("metrics: usage of bucket {}: {}", b.name.str(), u.status().ToString());
      continue;
    }
    if (named < max_buckets) {
      rows.emplace_back(b.name.str(), *u);
      named++;
    } else {
      other.Add(*u);
      any_other = true;
    }
  }
  if (any_other) rows.emplace_back("_other", other);
  struct Family {
    const char* name;
    const char* help;
    int64_t meta::BucketUsage::*field;
  };
  static constexpr Family kFamilies[] = {
      {"sluice_bucket_objects",
       "Current objects (latest versions that are not delete markers), by bucket.",
       &meta::BucketUsage::objects},
      {"sluice_bucket_object_bytes", "Bytes of the current objects, by bucket.",
       &meta::BucketUsage::bytes},
      {"sluice_bucket_versions",
       "Stored versions (current and noncurrent; delete markers excluded), by bucket.",
       &meta::BucketUsage::versions},
      {"sluice_bucket_version_bytes", "Bytes of every stored version, by bucket.",
       &meta::BucketUsage::version_bytes},
  };
  for (const auto& f : kFamilies) {
    w->Family(f.name, "gauge", f.help);
    for (const auto& [name, u] : rows)
      w->Sample(f.name, Labels{{"bucket", name}}, static_cast<double>(u.*f.field));
  }
}

void Cache(metrics::TextWriter* w, const s3::ReadCache& cache) {
  const auto st = cache.stats();
  w->Family("sluice_cache_bytes", "gauge",
            "Bytes a read-through cache holds or has reserved for fills.");
  w->Sample("sluice_cache_bytes", {}, st.used);
  w->Family("sluice_cache_objects", "gauge", "Copies a read-through cache holds.");
  w->Sample("sluice_cache_objects", {}, st.objects);
  w->Family("sluice_cache_reads_total", "counter",
            "Reads of a read-through cache, by outcome: hit (served from the copy), fill (read "
            "from the origin), joined (shared a fill in flight), stale (the origin had a newer "
            "version).");
  w->Sample("sluice_cache_reads_total", Labels{{"outcome", "hit"}}, st.hits);
  w->Sample("sluice_cache_reads_total", Labels{{"outcome", "fill"}}, st.fills);
  w->Sample("sluice_cache_reads_total", Labels{{"outcome", "joined"}}, st.joined);
  w->Sample("sluice_cache_reads_total", Labels{{"outcome", "stale"}}, st.stale);
  w->Family("sluice_cache_revalidations_total", "counter",
            "HEADs sent to the origin to check a copy.");
  w->Sample("sluice_cache_revalidations_total", {}, st.revalidated);
  w->Family("sluice_cache_evictions_total", "counter", "Copies dropped to make room.");
  w->Sample("sluice_cache_evictions_total", {}, st.evicted);
  w->Family("sluice_cache_origin_bytes_total", "counter", "Bytes read from the origin.");
  w->Sample("sluice_cache_origin_bytes_total", {}, st.origin_bytes);
}

void Replication(metrics::TextWriter* w, const s3::ReplicationWorker& r) {
  const auto t = r.Totals();
  w->Family("sluice_replication_objects_total", "counter",
            "Replication tasks ended since start, by outcome: completed (copied), failed (can "
            "never succeed as configured), dropped (the version was gone).");
  w->Sample("sluice_replication_objects_total", Labels{{"outcome", "completed"}}, t.completed);
  w->Sample("sluice_replication_objects_total", Labels{{"outcome", "failed"}}, t.failed);
  w->Sample("sluice_replication_objects_total", Labels{{"outcome", "dropped"}}, t.dropped);
  w->Family("sluice_replication_bytes_total", "counter",
            "Object bytes copied to replication targets.");
  w->Sample("sluice_replication_bytes_total", {}, t.bytes);
  w->Family("sluice_replication_waiting", "gauge", "Replication tasks waiting for a retry.");
  w->Sample("sluice_replication_waiting", {}, static_cast<uint64_t>(r.Waiting().size()));
}

void Lifecycle(metrics::TextWriter* w, const LifecycleTotals& l) {
  w->Family("sluice_lifecycle_passes_total", "counter", "Lifecycle passes run, by result.");
  w->Sample("sluice_lifecycle_passes_total", Labels{{"result", "ok"}}, l.passes.load());
  w->Sample("sluice_lifecycle_passes_total", Labels{{"result", "failed"}}, l.failed_passes.load());
  w->Family(
      "sluice_lifecycle_actions_total", "counter",
      "What lifecycle rules did, by action; refused: removals Object Lock or a snapshot kept.");
  w->Sample("sluice_lifecycle_actions_total", Labels{{"action", "expired"}}, l.expired.load());
  w->Sample("sluice_lifecycle_actions_total", Labels{{"action", "noncurrent_removed"}},
            l.noncurrent_removed.load());
  w->Sample("sluice_lifecycle_actions_total", Labels{{"action", "markers_removed"}},
            l.markers_removed.load());
  w->Sample("sluice_lifecycle_actions_total", Labels{{"action", "uploads_aborted"}},
            l.uploads_aborted.load());
  w->Sample("sluice_lifecycle_actions_total", Labels{{"action", "refused"}}, l.locked.load());
  w->Family("sluice_lifecycle_last_pass_timestamp_seconds", "gauge",
            "When the last lifecycle pass ended.");
  w->Sample("sluice_lifecycle_last_pass_timestamp_seconds", {},
            static_cast<double>(l.last_pass_micros.load()) / 1e6);
}

}  // namespace

void LifecycleTotals::Add(const s3::LifecycleStats& s, int64_t now_micros) {
  passes++;
  expired += s.expired;
  noncurrent_removed += s.noncurrent_removed;
  markers_removed += s.markers_removed;
  uploads_aborted += s.uploads_aborted;
  locked += s.locked;
  last_pass_micros = now_micros;
}

Task<void> Metered(s3::RequestMetrics* metrics, const io::Clock* clock, s3::Endpoint endpoint,
                   http::Body& body, http::Responder& resp, Task<void> inner) {
  if (!metrics) {
    co_await std::move(inner);
    co_return;
  }
  const int64_t start = clock->MonotonicNanos();
  metrics->Started();
  co_await std::move(inner);
  s3::RequestMetrics::Outcome o;
  o.slot = s3::RequestMetrics::Slot(endpoint);
  o.status = resp.status();
  o.bytes_in = body.bytes_read();
  o.bytes_out = resp.bytes_sent();
  o.nanos = clock->MonotonicNanos() - start;
  metrics->Finished(o);
}

Result<MetricsOpen> ParseMetricsOpen(std::string_view s) {
  if (s == "loopback") return MetricsOpen::kLoopback;
  if (s == "any") return MetricsOpen::kAny;
  if (s == "none") return MetricsOpen::kNone;
  return Status(Err::kInvalidArgument, "expected loopback, any or none, got " + std::string(s));
}

MetricsEndpoint::MetricsEndpoint(Sources sources, Access access,
                                 const auth::CredentialStore* credentials, const io::Clock* clock,
                                 boost::asio::thread_pool* blocking)
    : sources_(std::move(sources)),
      access_(std::move(access)),
      clock_(clock),
      blocking_(blocking),
      verifier_(credentials, clock) {}

bool MetricsEndpoint::IsMetricsRequest(const http::Request& req,
                                       const std::vector<std::string>& domains) {
  if (req.path() != "/metrics" || !req.query().empty()) return false;
  if (req.method() != "GET" && req.method() != "HEAD") return false;
  std::string_view host = req.header("host");
  host = host.substr(0, host.rfind(':') == std::string_view::npos || host.back() == ']'
                            ? host.size()
                            : host.rfind(':'));
  for (const auto& d : domains)
    if (host.size() > d.size() + 1 && host.ends_with(d) && host[host.size() - d.size() - 1] == '.')
      return false;  // BUCKET.domain/metrics: an object
  return true;
}

int MetricsEndpoint::Admit(const http::Request& req, std::string* why) const {
  std::string_view authz = req.header("authorization");
  if (StartsWithIgnoreCase(authz, "Bearer ")) {
    std::string_view token = Trim(authz.substr(7));
    if (!access_.token.empty() && SameSecret(token, access_.token)) return 0;
    *why = access_.token.empty() ? "this server takes no bearer token (--metrics-token)"
                                 : "the bearer token is wrong";
    return 403;
  }
  auth::RequestView view{req.method(), req.path(), req.query(),
                         [&](std::string_view n) { return req.header(n); },
                         [&](std::map<std::string, std::string>* out) {
                           req.ForEachHeader([&](std::string_view n, std::string_view v) {
                             if (StartsWithIgnoreCase(n, "x-amz-"))
                               (*out)[ToLower(n)] = std::string(Trim(v));
                           });
                         }};
  if (auth::SigV4Verifier::HasAuth(view)) {
    auth::AuthFailureDetails details;
    auto who = verifier_.Verify(view, &details);
    if (!who.ok()) {
      *why = "the signature is not accepted: " + who.status().ToString();
      return 403;
    }
    const auth::Identity* id = who->credential.identity.get();
    auth::AccessRequest ar;
    ar.action = "sluice:GetMetrics";
    ar.resource = "*";
    ar.identity = id;
    if (id && auth::Authorize(ar) == auth::Verdict::kAllow) return 0;
    *why = "Access Denied: " + who->credential.access_key + " may not sluice:GetMetrics";
    return 403;
  }
  if (access_.open == MetricsOpen::kAny ||
      (access_.open == MetricsOpen::kLoopback && IsLoopback(req.remote_ip)))
    return 0;
  *why =
      "metrics need a bearer token (--metrics-token) or a request signed by a user allowed "
      "sluice:GetMetrics";
  return 401;
}

std::string MetricsEndpoint::Render() const {
  metrics::TextWriter w;
  if (sources_.requests) sources_.requests->Render(&w);
  if (sources_.server) {
    w.Family("sluice_connections_open", "gauge", "Client connections open now.");
    w.Sample("sluice_connections_open", {},
             static_cast<uint64_t>(sources_.server->open_connections()));
    w.Family("sluice_connections_accepted_total", "counter", "Client connections accepted.");
    w.Sample("sluice_connections_accepted_total", {}, sources_.server->accepted_connections());
  }
  if (sources_.file_syncs) {
    w.Family("sluice_fsync_duration_seconds", "histogram",
             "How long the data directory's syncs took, by kind: file (fdatasync of object data "
             "and records) or directory (fsync making names durable).");
    w.Histogram("sluice_fsync_duration_seconds", Labels{{"kind", "file"}}, *sources_.file_syncs, 0,
                1e-9);
    w.Histogram("sluice_fsync_duration_seconds", Labels{{"kind", "directory"}},
                *sources_.file_syncs, 1, 1e-9);
  }
  if (sources_.index_commits) {
    w.Family("sluice_index_commit_duration_seconds", "histogram",
             "How long a durable index commit took: a synced RocksDB write batch (group "
             "commit), or a RADOS index transaction.");
    w.Histogram("sluice_index_commit_duration_seconds", {}, *sources_.index_commits, 0, 1e-9);
  }
  w.Family("sluice_bugs_total", "counter",
           "Requests that took a path the code holds impossible (SLUICE_BUG, common/check.h): "
           "each failed with 500 InternalError and was logged. Should stay 0.");
  w.Sample("sluice_bugs_total", {}, BugCount());
  if (sources_.audit_failures) {
    w.Family("sluice_audit_failures_total", "counter",
             "Audit log records or syncs that failed (docs/security.md); each is in the error "
             "log. Should stay 0.");
    w.Sample("sluice_audit_failures_total", {}, sources_.audit_failures());
  }
  if (sources_.access_log_failures) {
    w.Family("sluice_access_log_failures_total", "counter",
             "Writes of the access log that failed; the lines they held are lost, and the "
             "first failure is in the error log. Should stay 0.");
    w.Sample("sluice_access_log_failures_total", {}, sources_.access_log_failures());
  }
  if (sources_.access_log_waits) {
    w.Family("sluice_access_log_waits_total", "counter",
             "Requests that waited for the access log's writer because 4 MiB of lines were "
             "pending: the log's file is slower than the traffic.");
    w.Sample("sluice_access_log_waits_total", {}, sources_.access_log_waits());
  }
  Space(&w, sources_);
  if (sources_.index) Usage(&w, sources_.index, sources_.max_buckets);
  if (sources_.cache) Cache(&w, *sources_.cache);
  if (sources_.replication) Replication(&w, *sources_.replication);
  if (sources_.lifecycle) Lifecycle(&w, *sources_.lifecycle);
  return w.text();
}

Task<void> MetricsEndpoint::Handle(http::Request& req, http::Body& body, http::Responder& resp) {
  const int64_t start = clock_->MonotonicNanos();
  if (sources_.requests) sources_.requests->Started();
  std::string why;
  const int refused = Admit(req, &why);
  http::ResponseHead head;
  head.Set("Server", "sluice");
  Err error = Err::kOk;
  if (refused != 0) {
    head.status = refused;
    head.Set("Content-Type", "text/plain; charset=utf-8");
    if (refused == 401) head.Set("WWW-Authenticate", "Bearer realm=\"sluice metrics\"");
    error = Err::kAccessDenied;
    spdlog::info("metrics scrape refused ({}): {} from {}", refused, why, req.remote_ip);
    (co_await resp.Send(head, why + "\n")).IgnoreError();
  } else {
    std::string text = co_await Offload(*blocking_, [this] { return Render(); });
    head.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    (co_await resp.Send(head, text)).IgnoreError();
  }
  if (sources_.requests) {
    s3::RequestMetrics::Outcome o;
    o.slot = s3::RequestMetrics::Slot(s3::Endpoint::kMetrics);
    o.status = resp.status();
    o.error = error;
    o.bytes_in = body.bytes_read();
    o.bytes_out = resp.bytes_sent();
    o.nanos = clock_->MonotonicNanos() - start;
    sources_.requests->Finished(o);
  }
}

}  // namespace sluice::server
