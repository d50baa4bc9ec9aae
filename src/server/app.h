// The composition root: the only place that names concrete implementations. It opens
// the embedded store (RocksDB index + local data files) in the data directory, recovers
// from any crash, and serves S3 until SIGTERM or SIGINT.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace sluice::server {

// `sluice sse-keys rotate`: adds a new SSE-S3 master key to `path` (creating the file),
// which seals the keys of objects written after the next start; the older keys stay to
// open what they sealed. Prints the new key's id.
int RotateSseKey(const std::string& path);

struct ServerConfig {
  std::string data_dir = "./data";
  // Free space kept on the data directory's disk for deletes and the index: new data is
  // refused below it (507). 0: 5% of the disk, between 16 MiB and 1 GiB (at most a quarter).
  int disk_reserve_mb = 0;
  std::string listen = "127.0.0.1:9000";
  std::string unix_socket;  // also serve plain HTTP on this Unix-domain socket (empty: no)
  std::string log_level = "info";
  std::string access_key;  // empty: SLUICE_ROOT_ACCESS_KEY, else generated and kept
  std::string secret_key;
  std::string region = "us-east-1";
  std::vector<std::string> domains = {"localhost"};
  int threads = 0;
  bool access_log = true;
  // Where the access log goes (one line per request, written off the request path): empty
  // or "-" for standard error, "off" for nowhere, else a file appended to.
  std::string access_log_path;
  // The audit log (docs/security.md): a file of JSON lines. Empty: DATA/audit.log on the
  // local store, none for a RADOS gateway (whose disk is not kept); "off": none.
  std::string audit_log;
  // The networks replication targets may be reached at (docs/security.md); empty: any
  // address but link-local.
  std::string replication_allow;
  // The proxies whose forwarding headers name the client (http::ApplyForwarded); empty:
  // none are believed.
  std::string trusted_proxy;
  // Objects up to this size live in their index record. Unset: 32 KiB on the local store,
  // where a larger object is served faster from its file by sendfile (BENCHMARKS.md,
  // "Where small objects should live"), 64 KiB on RADOS, where a file is one more round trip.
  std::optional<uint64_t> inline_threshold;
  int header_timeout_s = 30;  // to receive a request head
  int idle_timeout_s = 60;    // between requests on a keep-alive connection
  int io_timeout_s = 60;      // without progress on a body
  std::string tls_cert;       // PEM certificate chain; with tls_key, serve HTTPS
  std::string tls_key;        // PEM private key; both reload on SIGHUP
  // The master key sealing IAM secrets at rest; empty: DATA_DIR + ".iam-key", beside the
  // data directory rather than in it, so a copy of the data does not carry it.
  std::string iam_key_file;
  // The SSE-S3 master keys (s3/sse.h, docs/encryption.md); empty: DATA_DIR + ".sse-keys"
  // on the local backend, created on first start. With --ceph-conf there is no default:
  // without one SSE-S3 is refused (501), since every gateway must hold the same keys.
  std::string sse_key_file;
  int64_t sts_min_duration_s = 900;  // the shortest STS session AssumeRole grants
  // Seconds between lifecycle passes (rules are day-granular; a pass is cheap when no bucket
  // has rules); 0 turns the worker off.
  int64_t lifecycle_interval_s = 600;
  // Milliseconds between passes of the replication worker over the queues (a pass with
  // nothing queued is one index seek per replicated bucket), and the keys it copies at
  // once; 0 turns the worker off (queued versions then wait, they are never lost).
  int64_t replication_interval_ms = 100;
  int replication_parallel =
      32;  // copies are latency-bound: 8 -> 32 drained 4 KiB objects 1.6x faster (BENCHMARKS.md)
  // A Ceph cluster instead of the data directory (docs/rados.md): its conf file (monitors
  // and keyring), the cephx user, the pools' prefix (PREFIX.meta and PREFIX.data, created
  // when missing), this gateway's name (default: host-port), and the seconds after which a
  // RADOS operation gives up (503, retryable).
  std::string ceph_conf;
  std::string ceph_id = "admin";
  std::string ceph_pool = "sluice";
  std::string gateway_name;
  int ceph_timeout_s = 10;
  int ceph_lease_s = 30;         // a gateway's lease on its intent log
  int ceph_list_cache_mb = 128;  // listing pages kept in memory, validated per page
  int ceph_shard_keys = 100000;  // omap entries past which a bucket's index shard splits
  int ceph_pack_keys = 512;      // objects per listing pack in a shard (0: none)
  // A read-through cache of another S3 endpoint (docs/cache.md): its URL, the credentials
  // to read it with (empty: $SLUICE_CACHE_ACCESS_KEY and $SLUICE_CACHE_SECRET_KEY), the
  // bytes of object data kept, the seconds an ETag the origin confirmed is trusted, and
  // the origin's region and CA bundle.
  std::string cache_of;
  std::string cache_access_key, cache_secret_key;
  uint64_t cache_size = 10ULL << 30;
  double cache_revalidate_s = 0;
  std::string cache_region = "us-east-1";
  std::string cache_ca_file;
  // GET /metrics (docs/metrics.md): whether requests are counted and timed; the bearer token
  // that admits a scrape (empty: $SLUICE_METRICS_TOKEN, else none); who may scrape without
  // credentials ("loopback", "any", "none"); how many buckets get their own labels.
  bool request_metrics = true;
  std::string metrics_token;
  std::string metrics_open = "loopback";
  size_t metrics_max_buckets = 1000;
};

// Runs until a termination signal; returns the process exit code.
int RunServer(const ServerConfig& cfg);

}  // namespace sluice::server
