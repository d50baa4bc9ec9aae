// The sluice binary. Subcommands: `server`; the data commands ls, cp, sync, rm, cat, mb,
// rb, presign (cli/data.cc); and `admin` (users, keys and policies of a running server).
#include <CLI/CLI.hpp>

#include "cli/admin.h"
#include "cli/data.h"
#include "server/app.h"

int main(int argc, char** argv) {
  CLI::App app{"sluice: a fast S3-compatible object store for deep-learning workloads"};
  app.require_subcommand(1);
  sluice::server::ServerConfig cfg;
  std::string domains;
  auto* srv = app.add_subcommand(
      "server",
      "Run the S3 server: by default on this machine, objects in local files and metadata in "
      "an embedded RocksDB index, both under --data; with --ceph-conf, as one of any number "
      "of stateless gateways over a Ceph RADOS cluster. Every acknowledged write is durable "
      "(fsync, or on every replica) before the reply.");
  // The last of a repeated option wins, so `scripts/run.sh --listen ADDR` and `--data DIR`
  // override the defaults that script passes first.
  srv->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  srv->add_option("--data", cfg.data_dir, "Directory for objects and the metadata index")
      ->capture_default_str();
  srv->add_option("--disk-reserve-mb", cfg.disk_reserve_mb,
                  "Free space (MiB) kept on the data directory's disk so that deletes always "
                  "work: new data is refused (507 InsufficientStorage) below it. 0: 5% of the "
                  "disk, between 16 MiB and 1 GiB (at most a quarter of it)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  srv->add_option("--replication-allow", cfg.replication_allow,
                  "Networks replication targets may be reached at, comma-separated CIDRs or "
                  "addresses (10.0.0.0/8,2001:db8::/32). Default: any address but link-local "
                  "(169.254.0.0/16, fe80::/10: cloud metadata)");
  srv->add_option("--trusted-proxy", cfg.trusted_proxy,
                  "Load balancers and proxies whose X-Forwarded-For, X-Real-IP and "
                  "X-Forwarded-Proto are believed, comma-separated CIDRs or addresses "
                  "(127.0.0.1,10.0.0.0/8): the client's address then comes from them for "
                  "policies (aws:SourceIp) and the logs. Default: nobody's");
  srv->add_option("--audit-log", cfg.audit_log,
                  "File the audit log is appended to (JSON lines: IAM, policy, lock, "
                  "versioning, replication, snapshot and delete actions). Default: "
                  "DATA/audit.log; none for a RADOS gateway unless set; off: none");
  srv->add_option("--listen", cfg.listen, "Address and port to serve on, ADDR:PORT")
      ->capture_default_str();
  srv->add_option("--unix-socket", cfg.unix_socket,
                  "Also serve plain HTTP on this Unix-domain socket, for clients on this host "
                  "(endpoint unix://PATH): a third of loopback TCP's cost per byte");
  srv->add_option("--log-level", cfg.log_level, "trace, debug, info, warn, error or critical")
      ->capture_default_str()
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  srv->add_option("--access-key", cfg.access_key,
                  "Root access key (default: $SLUICE_ROOT_ACCESS_KEY, else generated on first "
                  "start and kept in DATA/root-credentials)");
  srv->add_option("--secret-key", cfg.secret_key,
                  "Root secret key (default: $SLUICE_ROOT_SECRET_KEY, else as above)");
  srv->add_option("--region", cfg.region, "Region reported to clients")->capture_default_str();
  srv->add_option("--domain", domains,
                  "Comma-separated domains for virtual-hosted-style requests "
                  "(BUCKET.DOMAIN); path-style always works")
      ->default_str("localhost");
  srv->add_option("--threads", cfg.threads, "I/O threads (default: one per core)");
  srv->add_option("--header-timeout", cfg.header_timeout_s,
                  "Seconds a client has to send a request head")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  srv->add_option("--idle-timeout", cfg.idle_timeout_s,
                  "Seconds an idle keep-alive connection is kept open")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  srv->add_option("--io-timeout", cfg.io_timeout_s,
                  "Seconds a body transfer may stall before the connection is dropped")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  srv->add_option("--inline-threshold", cfg.inline_threshold,
                  "Objects up to this many bytes are stored inside the metadata index "
                  "(default: 32768 on local disk, 65536 on RADOS)");
  auto* cert = srv->add_option("--tls-cert", cfg.tls_cert,
                               "PEM certificate chain: serve HTTPS (reloaded on SIGHUP)")
                   ->check(CLI::ExistingFile);
  auto* key = srv->add_option("--tls-key", cfg.tls_key, "PEM private key for --tls-cert")
                  ->check(CLI::ExistingFile);
  cert->needs(key);
  key->needs(cert);
  srv->add_option("--iam-key-file", cfg.iam_key_file,
                  "Master key sealing IAM secrets at rest (default: DATA.iam-key, beside the data "
                  "directory; created on first start). With --ceph-conf it is required: the same "
                  "file on every gateway, created by the first; it never goes to the cluster");
  srv->add_option("--sse-key-file", cfg.sse_key_file,
                  "SSE-S3 master keys (default: DATA.sse-keys, beside the data directory; "
                  "created on first start). With --ceph-conf there is no default: the same file "
                  "on every gateway (made by `sluice sse-keys rotate`), or SSE-S3 is refused");
  srv->add_option(
         "--ceph-conf", cfg.ceph_conf,
         "Serve from a Ceph cluster (its ceph.conf, naming monitors and keyring) instead of "
         "--data; every gateway on the cluster serves the same buckets")
      ->check(CLI::ExistingFile);
  srv->add_option("--ceph-id", cfg.ceph_id, "cephx user (client.NAME) for --ceph-conf")
      ->capture_default_str();
  srv->add_option("--ceph-pool", cfg.ceph_pool,
                  "Prefix of the pools PREFIX.meta and PREFIX.data (created when missing)")
      ->capture_default_str();
  srv->add_option(
      "--gateway-name", cfg.gateway_name,
      "This gateway's name on the cluster, stable across restarts (default: HOST-PORT)");
  srv->add_option("--ceph-timeout", cfg.ceph_timeout_s,
                  "Seconds before a RADOS operation gives up with a retryable 503")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  srv->add_option("--ceph-lease", cfg.ceph_lease_s,
                  "Seconds a gateway's lease on its intent log lasts unrenewed: after it lapses "
                  "(twice, to be safe), other gateways settle the writes it left unfinished")
      ->capture_default_str()
      ->check(CLI::Range(3, 3600));
  srv->add_option("--ceph-list-cache-mb", cfg.ceph_list_cache_mb,
                  "MiB of listing pages a gateway keeps in memory; the OSD confirms each page's "
                  "version before it is served (0: off)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  srv->add_option("--ceph-shard-keys", cfg.ceph_shard_keys,
                  "Index entries past which a bucket's index shard on Ceph is split at its "
                  "median key, online (docs/rados.md, \"Range shards\")")
      ->capture_default_str()
      ->check(CLI::Range(16, 10000000));
  srv->add_option("--ceph-pack-keys", cfg.ceph_pack_keys,
                  "Objects per listing pack in a bucket's index shard on Ceph; a shard with at "
                  "least this many keeps their listing fields packed, so a page of 1,000 keys "
                  "reads a few omap entries (docs/rados.md, \"Listing packs\"; 0: off)")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  srv->add_option("--sts-min-duration", cfg.sts_min_duration_s,
                  "Shortest STS session (seconds) AssumeRole grants")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  srv->add_flag("!--no-access-log", cfg.access_log, "Do not write one log line per request");
  srv->add_option("--access-log", cfg.access_log_path,
                  "Where the access log (one line per request) goes: - for standard error "
                  "(the default), a file to append to, or off");
  srv->add_option("--lifecycle-interval", cfg.lifecycle_interval_s,
                  "Seconds between passes of the lifecycle worker (0: off)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  srv->add_option("--replication-interval-ms", cfg.replication_interval_ms,
                  "Milliseconds between passes of the replication worker (0: off)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  srv->add_option("--replication-parallel", cfg.replication_parallel,
                  "Keys the replication worker copies at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  srv->add_option("--cache-of", cfg.cache_of,
                  "Serve as a read-through cache of this S3 endpoint (http(s)://HOST:PORT): reads "
                  "of its objects are kept on local disk under --data, revalidated by ETag and "
                  "evicted least recently used first; writes are refused (docs/cache.md)");
  srv->add_option("--cache-access-key", cfg.cache_access_key,
                  "Access key for the origin (default: $SLUICE_CACHE_ACCESS_KEY)");
  srv->add_option("--cache-secret-key", cfg.cache_secret_key,
                  "Secret key for the origin (default: $SLUICE_CACHE_SECRET_KEY)");
  srv->add_option("--cache-size", cfg.cache_size,
                  "Bytes of object data the cache keeps (suffixes K, M, G, T: powers of 1024)")
      ->capture_default_str()
      ->transform(CLI::AsSizeValue(false));
  srv->add_option("--cache-revalidate", cfg.cache_revalidate_s,
                  "Seconds an ETag the origin confirmed is trusted before the next read asks "
                  "again (0: every read asks)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  srv->add_option("--cache-region", cfg.cache_region, "The origin's region")->capture_default_str();
  srv->add_option("--cache-ca-file", cfg.cache_ca_file, "PEM bundle to verify an HTTPS origin")
      ->check(CLI::ExistingFile);
  srv->add_flag("!--no-request-metrics", cfg.request_metrics,
                "Do not count and time requests for /metrics (gauges are still served)");
  srv->add_option("--metrics-token", cfg.metrics_token,
                  "Bearer token that admits a scrape of /metrics from anywhere (default: "
                  "$SLUICE_METRICS_TOKEN); signed requests by users allowed sluice:GetMetrics "
                  "are always admitted");
  srv->add_option("--metrics-open", cfg.metrics_open,
                  "Who may scrape /metrics without credentials: loopback (peers on this host), "
                  "any, or none")
      ->capture_default_str()
      ->check(CLI::IsMember({"loopback", "any", "none"}));
  srv->add_option("--metrics-max-buckets", cfg.metrics_max_buckets,
                  "Buckets that get their own labels in /metrics; requests to more count as "
                  "\"_other\"")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  std::string sse_key_path;
  auto* sse = app.add_subcommand("sse-keys", "Manage the SSE-S3 master key file (offline)");
  sse->require_subcommand(1);
  auto* rotate = sse->add_subcommand(
      "rotate",
      "Add a new master key to the file (creating it): objects written after the server's next "
      "start are sealed with it; older keys stay, to open what they sealed. No data is "
      "rewritten");
  rotate->add_option("--file", sse_key_path, "The key file (the server's --sse-key-file)")
      ->required();
  sluice::cli::AdminCommand admin;
  admin.Register(app);
  sluice::cli::DataCommands data;
  data.Register(app);
  CLI11_PARSE(app, argc, argv);
  if (admin.parsed()) return admin.Run();
  if (data.parsed()) return data.Run();
  if (*rotate) return sluice::server::RotateSseKey(sse_key_path);

  if (!domains.empty()) {
    cfg.domains.clear();
    size_t start = 0;
    while (start <= domains.size()) {
      size_t comma = domains.find(',', start);
      std::string d = domains.substr(start, comma - start);
      if (!d.empty()) cfg.domains.push_back(d);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  if (*srv) {
    if ((cfg.access_key.empty()) != (cfg.secret_key.empty())) {
      std::fprintf(stderr, "error: --access-key and --secret-key go together\n");
      return 2;
    }
    return sluice::server::RunServer(cfg);
  }
  return 0;
}
