#include "server/app.h"

#include <signal.h>
#include <sluice/client.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "auth/credentials.h"
#include "auth/iam.h"
#include "auth/secret_box.h"
#include "common/hash.h"
#include "common/networks.h"
#include "common/strings.h"
#include "http/server.h"
#include "io/env.h"
#include "io/rados/rados_cluster.h"
#include "meta/kv/kv_index.h"
#include "meta/kv/kv_store.h"
#include "meta/rados/rados_index.h"
#include "s3/authz.h"
#include "s3/handler.h"
#include "s3/lifecycle_worker.h"
#include "s3/read_cache.h"
#include "s3/replication_worker.h"
#include "s3/request_metrics.h"
#include "s3/sse.h"
#include "server/admin_api.h"
#include "server/audit_log.h"
#include "server/console.h"
#include "server/log_format.h"
#include "server/log_sink.h"
#include "server/metrics_endpoint.h"
#include "server/origin_client.h"
#include "server/recovery.h"
#include "server/replication_targets.h"
#include "server/usage.h"
#include "storage/local/local_data_store.h"
#include "storage/local/space_guard.h"
#include "storage/rados/rados_data_store.h"

namespace sluice::server {
namespace {

constexpr char kFormatFile[] = "FORMAT";
constexpr char kFormatVersion[] = "sluice-local-1\n";

struct RootKeys {
  std::string access, secret;
  std::string source;
  // Whether the start line shows the secret: only for a credential the server made itself
  // (generated now, or derived on RADOS), which no one could know otherwise. One given by
  // flag or environment, or kept in the data directory, is never echoed into the log.
  bool show_secret = false;
};

constexpr char kAlnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

// The root credential every gateway of a cluster derives from their shared IAM key, so that
// none is stored anywhere and all agree: HMAC-SHA256 of two fixed labels.
RootKeys DerivedRootKeys(const std::string& master) {
  RootKeys k;
  const std::string a = HmacSha256(master, "sluice root access key");
  k.access = "SLU";
  for (size_t i = 3; i < 20; i++) k.access += kAlnum[static_cast<unsigned char>(a[i]) % 36];
  k.secret = Base64Encode(HmacSha256(master, "sluice root secret key").substr(0, 30));
  for (auto& c : k.secret)
    if (c == '+' || c == '/') c = 'x';
  k.source = "derived from the IAM key file";
  k.show_secret = true;
  return k;
}

// The environment, read while the server starts: before its threads, and nothing in the
// process sets it, so getenv's lack of thread safety cannot bite.
const char* StartupEnv(const char* name) {
  return std::getenv(name);  // NOLINT(concurrency-mt-unsafe)
}

// Flags, then the environment, then the data directory (generated on first start); on a
// Ceph cluster, derived from the IAM key instead of the data directory.
Result<RootKeys> LoadRootKeys(const ServerConfig& cfg, io::FileSystem* fs, io::Random* rnd,
                              const std::string* master) {
  RootKeys k;
  const char* env_ak = StartupEnv("SLUICE_ROOT_ACCESS_KEY");
  const char* env_sk = StartupEnv("SLUICE_ROOT_SECRET_KEY");
  if (!cfg.access_key.empty() || !cfg.secret_key.empty()) {
    k = {cfg.access_key, cfg.secret_key, "command line", false};
  } else if (env_ak && env_sk && *env_ak && *env_sk) {
    k = {env_ak, env_sk, "environment", false};
  } else if (master) {
    k = DerivedRootKeys(*master);
  } else {
    std::string path = cfg.data_dir + "/root-credentials";
    if (fs->Exists(path)) {
      SLUICE_ASSIGN_OR_RETURN(std::string text, fs->ReadWholeFile(path));
      size_t nl = text.find('\n');
      if (nl == std::string::npos) return Status(Err::kCorruption, path + " is malformed");
      k.access = text.substr(0, nl);
      k.secret = text.substr(nl + 1);
      while (!k.secret.empty() && k.secret.back() == '\n') k.secret.pop_back();
      k.source = path;
    } else {
      std::string raw(20, '\0');
      rnd->Fill(raw.data(), raw.size());
      k.access = "SLU";
      for (size_t i = 3; i < 20; i++) k.access += kAlnum[static_cast<unsigned char>(raw[i]) % 36];
      std::string sraw(30, '\0');
      rnd->Fill(sraw.data(), sraw.size());
      k.secret = Base64Encode(sraw);
      for (auto& c : k.secret)
        if (c == '+' || c == '/') c = 'x';
      SLUICE_RETURN_IF_ERROR(
          fs->WriteWholeFileDurably(path, k.access + "\n" + k.secret + "\n", 0600));
      k.source = "generated, kept in " + path;
      k.show_secret = true;
    }
  }
  if (k.access.size() < 3 || k.secret.size() < 8)
    return Status(Err::kInvalidArgument,
                  "the root access key needs at least 3 characters and the secret at least 8");
  return k;
}

Status SplitListen(const std::string& listen, http::ServerOptions* o) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return Status(Err::kInvalidArgument, "--listen wants ADDR:PORT");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto port = ParseUint(listen.substr(colon + 1));
  if (!port || *port > 65535) return Status(Err::kInvalidArgument, "bad port in --listen");
  o->address = host.empty() ? "0.0.0.0" : host;
  o->port = static_cast<uint16_t>(*port);
  return Status::Ok();
}

// Loads the IAM master key, creating it (0600, synced) on first start.
Result<std::string> LoadMasterKey(const std::string& path, io::FileSystem* fs, io::Random* rnd,
                                  bool* created) {
  *created = false;
  if (fs->Exists(path)) {
    SLUICE_ASSIGN_OR_RETURN(std::string text, fs->ReadWholeFile(path));
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    auto key = HexDecode(text);
    if (!key || key->size() != auth::SecretBox::kKeySize)
      return Status(Err::kCorruption, path + " must hold 64 hex digits (a 32-byte key)");
    return *key;
  }
  std::string key(auth::SecretBox::kKeySize, '\0');
  rnd->Fill(key.data(), key.size());
  SLUICE_RETURN_IF_ERROR(fs->WriteWholeFileDurably(path, HexEncode(key) + "\n", 0600));
  *created = true;
  return key;
}

// Loads the SSE-S3 keyring, creating it (one key, 0600, synced) on first start when
// `create`.
Result<s3::SseKeyring> LoadSseKeys(const std::string& path, io::FileSystem* fs, io::Random* rnd,
                                   bool create, bool* created) {
  *created = false;
  if (!fs->Exists(path)) {
    if (!create) return Status(Err::kNotFound, path + " does not exist");
    const std::string text = s3::SseKeyring::Format({s3::SseKeyring::Generate({}, rnd)});
    SLUICE_RETURN_IF_ERROR(fs->WriteWholeFileDurably(path, text, 0600));
    *created = true;
  }
  SLUICE_ASSIGN_OR_RETURN(std::string text, fs->ReadWholeFile(path));
  auto ring = s3::SseKeyring::Parse(text);
  if (!ring.ok())
    return Status(Err::kCorruption, path + ": " + std::string(ring.status().message()));
  return ring;
}

// The index keeps a sample sealed with the IAM key: a server started with another key (a
// gateway given the wrong file) refuses to start instead of failing every signed request.
// The first start writes it.
Status CheckIamKey(meta::Index* index, const auth::SecretBox& box) {
  constexpr char kNs[] = "server", kName[] = "iam-key-check", kPlain[] = "sluice iam key";
  SLUICE_ASSIGN_OR_RETURN(auto docs, index->ListDocs(kNs));
  for (const auto& [name, doc] : docs) {
    if (name != kName) continue;
    auto opened = box.Open(doc, kName);
    if (!opened.ok() || *opened != kPlain)
      return Status(Err::kAccessDenied,
                    "this key does not open the secrets stored in the index: "
                    "give every server of one store the same key file");
    return Status::Ok();
  }
  return index->WriteDocs({{kNs, kName, box.Seal(kPlain, kName)}});
}

// A gateway's default name: this host and the port it serves, stable across restarts (the
// name keys its write intents, which its next start recovers).
std::string GatewayName(const std::string& listen) {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "gateway");
  const size_t colon = listen.rfind(':');
  return std::string(host) + "-" + (colon == std::string::npos ? listen : listen.substr(colon + 1));
}

// IAM records in the metadata index.
class IndexDocStore final : public auth::DocStore {
 public:
  explicit IndexDocStore(meta::Index* index) : index_(index) {}
  Status Apply(const std::vector<Write>& writes) override {
    std::vector<meta::Index::DocWrite> w;
    w.reserve(writes.size());
    for (const auto& x : writes) w.push_back({x.ns, x.name, x.doc});
    return index_->WriteDocs(w);
  }
  Result<std::vector<std::pair<std::string, std::string>>> List(const std::string& ns) override {
    return index_->ListDocs(ns);
  }

 private:
  meta::Index* index_;
};

}  // namespace

int RunServer(const ServerConfig& cfg) {
  // Signals are taken synchronously by this thread; every other thread blocks them.
  // First of all: a thread started before the mask (the access log's writer was) would take
  // a SIGTERM itself and die by it, with no drain and no flush.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto level = spdlog::level::from_str(cfg.log_level);
  spdlog::set_default_logger(spdlog::stderr_color_mt("sluice"));
  spdlog::set_level(level);
  spdlog::set_formatter(ServerLogFormatter());  // control characters escaped (log_format.h)
  // The access log: formatted on the request path, written by the sink's own thread.
  std::shared_ptr<BufferedLogSink> access_sink;
  bool access_on = cfg.access_log && cfg.access_log_path != "off";
  bool access_to_file = false;
  if (access_on) {
    bool to_stderr = cfg.access_log_path.empty() || cfg.access_log_path == "-";
    access_to_file = !to_stderr;
    auto file =
        to_stderr ? io::StandardError() : io::PosixFileSystem()->OpenForAppend(cfg.access_log_path);
    if (!file.ok()) {
      spdlog::critical("access log: {}", file.status().ToString());
      return 1;
    }
    access_sink = std::make_shared<BufferedLogSink>(
        std::move(file).value(), to_stderr ? "access log" : "access log " + cfg.access_log_path);
  }

  io::FileSystem* fs = io::PosixFileSystem();
  auto fail = [](const std::string& what, const Status& s) {
    spdlog::critical("{}: {}", what, s.ToString());
    return 1;
  };
  const bool rados = !cfg.ceph_conf.empty();
  std::unique_ptr<io::FileLock> lock;
  if (!rados) {
    if (Status s = fs->CreateDirs(cfg.data_dir); !s.ok()) return fail("data directory", s);
    auto locked = fs->LockFile(cfg.data_dir + "/LOCK");
    if (!locked.ok()) return fail("data directory", locked.status());
    lock = std::move(locked).value();
    std::string fmt_path = cfg.data_dir + "/" + kFormatFile;
    if (fs->Exists(fmt_path)) {
      auto f = fs->ReadWholeFile(fmt_path);
      if (!f.ok() || *f != kFormatVersion)
        return fail("data directory",
                    Status(Err::kCorruption, fmt_path + " names an unknown format"));
    } else if (Status s = fs->WriteWholeFileDurably(fmt_path, kFormatVersion); !s.ok()) {
      return fail("data directory", s);
    }
  }

  // Blocking work (fsync, synced commits, copies, RADOS round trips) runs here so I/O
  // threads never wait on the disk or the network; 32 threads let that many syncs be in
  // flight for the file system to batch.
  boost::asio::thread_pool blocking(32);

  // The IAM master key. Gateways of one cluster share it (the first creates the file); it
  // never leaves this machine.
  std::string key_path = cfg.iam_key_file;
  if (key_path.empty()) {
    if (rados)
      return fail("--iam-key-file",
                  Status(Err::kInvalidArgument,
                         "a gateway on a Ceph cluster needs --iam-key-file FILE, the "
                         "same file on every gateway (the first one creates it)"));
    key_path = cfg.data_dir;
    while (key_path.size() > 1 && key_path.back() == '/') key_path.pop_back();
    key_path += ".iam-key";
  }
  bool key_created = false;
  auto master = LoadMasterKey(key_path, fs, io::SystemRandom(), &key_created);
  if (!master.ok()) return fail("IAM key file", master.status());
  if (key_created)
    spdlog::info("created the IAM key file {} (it seals secrets stored in the index)", key_path);

  auto keys = LoadRootKeys(cfg, fs, io::SystemRandom(), rados ? &*master : nullptr);
  if (!keys.ok()) return fail("root credential", keys.status());

  // The backends: RocksDB and files in the data directory, or a Ceph cluster. Declared in
  // this order so that they close in the reverse one (the cluster last).
  // Index commit latency for /metrics, written by whichever index is opened below.
  metrics::HistogramBlock index_commits(1, metrics::SyncLatencyBounds());
  std::unique_ptr<io::RadosCluster> cluster;
  std::unique_ptr<storage::SpaceGuard> space;  // the local backend's reserve of free space
  std::unique_ptr<meta::KvStore> kv;
  std::unique_ptr<meta::Index> index;
  std::unique_ptr<storage::DataStore> data;
  std::string where;
  if (rados) {
    auto c = io::RadosCluster::Connect(cfg.ceph_conf, cfg.ceph_id,
                                       std::chrono::seconds(cfg.ceph_timeout_s));
    if (!c.ok()) return fail("Ceph cluster", c.status());
    cluster = std::move(c).value();
    auto meta_pool = cluster->OpenPool(cfg.ceph_pool + ".meta");
    if (!meta_pool.ok()) return fail("Ceph pool", meta_pool.status());
    auto data_pool = cluster->OpenPool(cfg.ceph_pool + ".data");
    if (!data_pool.ok()) return fail("Ceph pool", data_pool.status());
    auto ri =
        std::make_unique<meta::RadosIndex>(&cluster->rados(), *meta_pool, io::SystemRandom(),
                                           io::SystemClock(), size_t(cfg.ceph_list_cache_mb) << 20);
    ri->TimeCommits(&index_commits);
    ri->SetShardKeys(static_cast<size_t>(cfg.ceph_shard_keys));
    ri->SetPackKeys(static_cast<size_t>(cfg.ceph_pack_keys));
    if (Status s = ri->Start(); !s.ok()) return fail("metadata index", s);
    index = std::move(ri);
    std::string gateway = cfg.gateway_name;
    if (gateway.empty()) gateway = GatewayName(cfg.listen);
    auto rd = std::make_unique<storage::RadosDataStore>(
        std::move(data_pool).value(), std::move(meta_pool).value(), gateway, io::SystemRandom(),
        io::SystemClock(), &blocking, std::chrono::seconds(cfg.ceph_lease_s));
    if (Status s = rd->Start(); !s.ok()) return fail("data store", s);
    data = std::move(rd);
    where = "Ceph cluster " + cfg.ceph_conf + ", pools " + cfg.ceph_pool + ".meta and " +
            cfg.ceph_pool + ".data, gateway " + gateway;
  } else {
    if (Status s = fs->CreateDirs(cfg.data_dir); !s.ok()) return fail("data directory", s);
    storage::SpaceGuard::Options space_opts;
    space_opts.reserve = uint64_t(cfg.disk_reserve_mb) << 20;
    space = std::make_unique<storage::SpaceGuard>(fs, io::SystemClock(), cfg.data_dir, space_opts);
    if (Status s = space->Init(); !s.ok()) return fail("free space of " + cfg.data_dir, s);
    meta::KvSpaceHooks hooks;
    hooks.room = [g = space.get()](uint64_t bytes) { return g->RoomForIndex(bytes); };
    hooks.on_no_space = [g = space.get()] { return g->ReleaseBallast(); };
    // RocksDB preallocates its logs 70 MiB at a time: only on a disk of 4 GiB or more
    // (under 2% of it), where it is worth its 5-7% on small durable PUTs.
    if (auto disk = fs->Space(cfg.data_dir); !disk.ok() || disk->total < (4ULL << 30))
      hooks.preallocate = false;
    auto opened = meta::OpenRocksKv(cfg.data_dir + "/meta", std::move(hooks));
    if (!opened.ok()) return fail("metadata index", opened.status());
    kv = std::move(opened).value();
    auto ki = std::make_unique<meta::KvIndex>(kv.get(), /*sync=*/true);
    ki->TimeCommits(io::SystemClock(), &index_commits);
    ki->TrackUsage(io::SystemRandom()->HexString(8));  // unique per process start
    index = std::move(ki);
    auto local = std::make_unique<storage::LocalDataStore>(fs, io::SystemRandom(), cfg.data_dir,
                                                           space.get());
    if (Status s = local->Init(); !s.ok()) return fail("data store", s);
    data = std::move(local);
    where = "data in " + cfg.data_dir;
  }

  // Bucket usage is kept by every commit from here on; an index from before it was kept is
  // counted once first.
  if (Status s = CountUsageOnce(index.get()); !s.ok()) return fail("counting bucket usage", s);
  auth::SecretBox box(std::move(master).value(), io::SystemRandom());
  if (Status s = CheckIamKey(index.get(), box); !s.ok()) return fail("IAM key file " + key_path, s);
  auto rec = Recover(index.get(), data.get());
  if (!rec.ok()) return fail("recovery", rec.status());
  if (rec->republished || rec->discarded || rec->collected)
    spdlog::info(
        "recovery: {} uploads finished, {} interrupted uploads discarded, {} deleted "
        "objects' data collected",
        rec->republished, rec->discarded, rec->collected);

  IndexDocStore docs(index.get());
  auth::IamOptions iam_opts;
  iam_opts.min_session_seconds = cfg.sts_min_duration_s;
  auth::Iam iam(&docs, &box, io::SystemClock(), io::SystemRandom(),
                {keys->access, keys->secret, "sluice-root", "root", nullptr}, iam_opts);
  if (Status s = iam.Load(); !s.ok())
    return fail("IAM records (is " + key_path + " the right key file?)", s);

  // The backends as the I/O threads call them: inline or on the pool, as each declares.
  meta::AsyncIndex async_index(index.get(), &blocking);
  storage::AsyncDataStore async_data(data.get(), &blocking);
  s3::BucketAccessCache bucket_access(&async_index);
  AdminApi admin(&iam, io::SystemClock(), &blocking);
  admin.EnableSnapshots(index.get());
  // IAM changes made by another process on a shared index (RADOS) reach this one through
  // the index; this process's own are in memory already.
  index->Subscribe([&iam, &blocking](const meta::Index::Change& c) {
    if (c.kind != meta::Index::Change::Kind::kDocs || c.local) return;
    boost::asio::post(blocking, [&iam] {
      if (Status s = iam.Reload(); !s.ok())
        spdlog::error("reloading IAM records: {}", s.ToString());
    });
  });
  s3::Services svc;
  svc.index = &async_index;
  svc.data = &async_data;
  svc.clock = io::SystemClock();
  svc.random = io::SystemRandom();
  svc.blocking = &blocking;
  svc.credentials = &iam;
  svc.access = &bucket_access;
  svc.region = cfg.region;
  svc.domains = cfg.domains;
  svc.limits.inline_threshold = cfg.inline_threshold.value_or(rados ? 64 * 1024 : 32 * 1024);
  // The audit log (docs/security.md).
  std::unique_ptr<FileAuditLog> audit;
  {
    std::string path = cfg.audit_log;
    if (path.empty() && !rados) path = cfg.data_dir + "/audit.log";
    if (!path.empty() && path != "off") {
      auto opened = FileAuditLog::Open(fs, path);
      if (!opened.ok()) return fail("audit log " + path, opened.status());
      audit = std::move(opened).value();
      svc.audit = audit.get();
      admin.EnableAudit(audit.get());
    }
  }
  // Encryption at rest (docs/encryption.md): the SSE-S3 master keys.
  std::optional<s3::SseKeyring> sse_keys;
  {
    std::string path = cfg.sse_key_file;
    if (path.empty() && !rados) {
      path = cfg.data_dir;
      while (path.size() > 1 && path.back() == '/') path.pop_back();
      path += ".sse-keys";
    }
    if (!path.empty()) {
      bool created = false;
      auto ring = LoadSseKeys(path, fs, io::SystemRandom(), !rados, &created);
      if (!ring.ok()) return fail("SSE key file", ring.status());
      if (created) spdlog::info("created the SSE key file {} (it seals SSE-S3 object keys)", path);
      sse_keys.emplace(std::move(ring).value());
      svc.sse_keys = &*sse_keys;
    }
  }
  // Remote replication targets, their secrets sealed like users' (docs/replication.md).
  RemoteReplicationTargets targets(index.get(), &box, io::SystemClock());
  {
    auto policy = AddressPolicy::Parse(cfg.replication_allow);
    if (!policy.ok()) return fail("--replication-allow", policy.status());
    targets.SetAddressPolicy(std::move(policy).value());
  }
  svc.replication_targets = &targets;
  // The replication worker; its thread runs below unless --replication-interval-ms is 0.
  s3::ReplicationWorker replication(svc, cfg.replication_parallel);
  admin.EnableReplication(&targets, &replication);
  // A read-through cache of another endpoint (docs/cache.md): what it holds is read back
  // from the index before the first request.
  std::unique_ptr<S3Origin> origin;
  std::unique_ptr<s3::ReadCache> cache;
  if (!cfg.cache_of.empty()) {
    if (rados)
      return fail("--cache-of",
                  Status(Err::kInvalidArgument,
                         "a read-through cache keeps its copies on local disk, next to "
                         "its readers: --cache-of goes with --data, not --ceph-conf"));
    OriginSpec spec;
    spec.endpoint = cfg.cache_of;
    spec.access_key = cfg.cache_access_key;
    spec.secret_key = cfg.cache_secret_key;
    if (const char* v = StartupEnv("SLUICE_CACHE_ACCESS_KEY"); v && spec.access_key.empty())
      spec.access_key = v;
    if (const char* v = StartupEnv("SLUICE_CACHE_SECRET_KEY"); v && spec.secret_key.empty())
      spec.secret_key = v;
    if (spec.access_key.empty() || spec.secret_key.empty())
      return fail(
          "--cache-of",
          Status(Err::kInvalidArgument,
                 "the origin's credentials are missing: --cache-access-key and "
                 "--cache-secret-key, or $SLUICE_CACHE_ACCESS_KEY and $SLUICE_CACHE_SECRET_KEY"));
    if (cfg.cache_of.rfind("http://", 0) != 0 && cfg.cache_of.rfind("https://", 0) != 0)
      return fail("--cache-of",
                  Status(Err::kInvalidArgument,
                         "expected http://HOST:PORT or https://HOST:PORT, got " + cfg.cache_of));
    spec.region = cfg.cache_region;
    spec.ca_file = cfg.cache_ca_file;
    try {
      origin = std::make_unique<S3Origin>(spec);
    } catch (const client::ClientError& e) {  // an endpoint the client library refuses
      return fail("--cache-of", Status(Err::kInvalidArgument, e.what()));
    }
    s3::CacheOptions copts;
    copts.capacity = cfg.cache_size;
    copts.revalidate_after_micros = static_cast<int64_t>(cfg.cache_revalidate_s * 1e6);
    cache = std::make_unique<s3::ReadCache>(svc, origin.get(), copts);
    if (Status s = cache->Load(); !s.ok()) return fail("cache", s);
    auto st = cache->stats();
    svc.cache = cache.get();
    where += "; a read-through cache of " + cfg.cache_of + " (" + std::to_string(st.objects) +
             " objects, " + std::to_string(st.used >> 20) + " of " +
             std::to_string(cfg.cache_size >> 20) + " MiB held)";
  }
  // What /metrics serves (docs/metrics.md).
  s3::RequestMetrics request_metrics(cfg.metrics_max_buckets);
  if (cfg.request_metrics) svc.metrics = &request_metrics;
  LifecycleTotals lifecycle_totals;
  MetricsEndpoint::Sources msrc;
  msrc.requests = svc.metrics;
  msrc.index_commits = &index_commits;
  msrc.index = index.get();
  msrc.max_buckets = cfg.metrics_max_buckets;
  if (rados) {
    msrc.space = [c = cluster.get()] { return c->Space(); };
    msrc.space_of = "cluster";
  } else {
    msrc.space = [fs, dir = cfg.data_dir] { return fs->Space(dir); };
    msrc.space_of = "disk";
    msrc.file_syncs = &io::PosixSyncLatency();
  }
  msrc.cache = cache.get();
  msrc.replication = &replication;
  if (cfg.lifecycle_interval_s > 0) msrc.lifecycle = &lifecycle_totals;
  if (audit) msrc.audit_failures = [a = audit.get()] { return a->failures(); };
  if (access_sink) {
    msrc.access_log_failures = [a = access_sink.get()] { return a->failures(); };
    msrc.access_log_waits = [a = access_sink.get()] { return a->waits(); };
  }
  MetricsEndpoint::Access maccess;
  maccess.token = cfg.metrics_token;
  if (const char* v = StartupEnv("SLUICE_METRICS_TOKEN"); v && maccess.token.empty())
    maccess.token = v;
  auto mopen = ParseMetricsOpen(cfg.metrics_open);
  if (!mopen.ok()) return fail("--metrics-open", mopen.status());
  maccess.open = *mopen;
  MetricsEndpoint metrics_endpoint(std::move(msrc), maccess, &iam, io::SystemClock(), &blocking);
  // The web console's files; the console itself signs its requests like any client.
  Console console(cfg.region);
  svc.access_log = access_sink.get();  // null when off
  s3::S3Handler handler(svc);

  http::ServerOptions opts;
  if (Status s = SplitListen(cfg.listen, &opts); !s.ok()) return fail("--listen", s);
  opts.threads = cfg.threads;
  opts.header_timeout = std::chrono::seconds(cfg.header_timeout_s);
  opts.idle_timeout = std::chrono::seconds(cfg.idle_timeout_s);
  opts.io_timeout = std::chrono::seconds(cfg.io_timeout_s);
  opts.tls_cert = cfg.tls_cert;
  opts.tls_key = cfg.tls_key;
  {
    auto proxies = Networks::Parse(cfg.trusted_proxy);
    if (!proxies.ok()) return fail("--trusted-proxy", proxies.status());
    if (!proxies->empty()) {
      spdlog::info("believing X-Forwarded-For from {}", proxies->Describe());
      opts.trusted_proxy = [nets = std::move(proxies).value()](std::string_view address) {
        return nets.Contains(address);
      };
    }
  }
  if (!cfg.unix_socket.empty()) {
    // A socket file left by a server that is gone is removed; one a live server answers on
    // is not taken over.
    if (fs->Exists(cfg.unix_socket)) {
      boost::asio::io_context probe;
      boost::asio::local::stream_protocol::socket s(probe);
      boost::system::error_code ec;
      s.connect(boost::asio::local::stream_protocol::endpoint(cfg.unix_socket), ec);
      if (!ec)
        return fail("--unix-socket", Status(Err::kInvalidArgument,
                                            cfg.unix_socket + " is in use by a running server"));
      if (Status st = fs->Remove(cfg.unix_socket); !st.ok()) return fail("--unix-socket", st);
    }
    opts.unix_path = cfg.unix_socket;
  }
  http::Server server(
      opts,
      [&handler, &admin, &metrics_endpoint, &console, &svc](http::Request& r, http::Body& b,
                                                            http::Responder& w) {
        if (MetricsEndpoint::IsMetricsRequest(r, svc.domains))
          return metrics_endpoint.Handle(r, b, w);
        if (Console::IsConsoleRequest(r))
          return Metered(svc.metrics, svc.clock, s3::Endpoint::kConsole, b, w,
                         console.Handle(r, b, w));
        if (AdminApi::IsAdminRequest(r))
          return Metered(svc.metrics, svc.clock, s3::Endpoint::kAdmin, b, w,
                         admin.HandleAdmin(r, b, w));
        if (AdminApi::IsStsRequest(r))
          return Metered(svc.metrics, svc.clock, s3::Endpoint::kAssumeRole, b, w,
                         admin.HandleSts(r, b, w));
        return handler.Handle(r, b, w);
      },
      [&handler](Err c, std::string_view m, http::ResponseHead* h, std::string* b) {
        handler.RenderProtocolError(c, m, h, b);
      });
  metrics_endpoint.set_server(&server);  // before the first request can read it
  if (Status s = server.Start(); !s.ok()) return fail("listen", s);

  std::string host =
      opts.address.find(':') != std::string::npos ? "[" + opts.address + "]" : opts.address;
  std::printf("sluice is serving S3 at %s://%s:%u (%s)\n", server.tls() ? "https" : "http",
              host.c_str(), server.port(), where.c_str());
  if (!cfg.unix_socket.empty())
    std::printf("  and on the Unix socket unix://%s\n", cfg.unix_socket.c_str());
  std::printf("  access key: %s\n  secret key: %s\n  (root credential: %s)\n", keys->access.c_str(),
              keys->show_secret ? keys->secret.c_str() : "(not shown)", keys->source.c_str());
  std::fflush(stdout);
  spdlog::info(
      "started: listening on {}:{}{}, {} I/O threads, {}", opts.address, server.port(),
      server.tls() ? " (TLS)" : "",
      opts.threads > 0 ? opts.threads : static_cast<int>(std::thread::hardware_concurrency()),
      where);

  // The lifecycle worker: one pass every interval on its own thread, pausing between pages
  // of 1,000 versions so requests keep the index and the CPU.
  std::mutex lc_mu;
  std::condition_variable lc_cv;
  bool lc_stop = false;
  std::thread lifecycle;
  if (cfg.lifecycle_interval_s > 0) {
    lifecycle = std::thread([&] {
      s3::LifecycleWorker worker(svc,
                                 [] { std::this_thread::sleep_for(std::chrono::milliseconds(5)); });
      std::unique_lock l(lc_mu);
      while (!lc_cv.wait_for(l, std::chrono::seconds(cfg.lifecycle_interval_s),
                             [&] { return lc_stop; })) {
        l.unlock();
        auto st = worker.RunOnce();
        if (!st.ok()) {
          lifecycle_totals.failed_passes++;
          spdlog::error("lifecycle pass failed: {}", st.status().ToString());
        } else {
          lifecycle_totals.Add(*st, io::SystemClock()->NowMicros());
        }
        if (st.ok() && (st->expired || st->noncurrent_removed || st->markers_removed ||
                        st->uploads_aborted || st->locked)) {
          spdlog::info(
              "lifecycle: {} buckets, {} versions seen; expired {}, noncurrent removed {}, "
              "markers removed {}, uploads aborted {}, kept by Object Lock {}",
              st->buckets, st->versions_seen, st->expired, st->noncurrent_removed,
              st->markers_removed, st->uploads_aborted, st->locked);
        }
        l.lock();
      }
    });
  }

  // The replication worker: copies what the buckets' replication queues hold. Writes only
  // add to the queues, so nothing here ever makes a request wait.
  std::thread replicator;
  if (cfg.replication_interval_ms > 0) {
    replicator = std::thread([&] {
      std::unique_lock l(lc_mu);
      while (!lc_cv.wait_for(l, std::chrono::milliseconds(cfg.replication_interval_ms),
                             [&] { return lc_stop; })) {
        l.unlock();
        auto st = replication.RunOnce();
        if (!st.ok()) {
          spdlog::error("replication pass failed: {}", st.status().ToString());
        } else if (st->completed || st->failed) {
          spdlog::debug("replication: {} copied ({} bytes), {} failed, {} waiting to retry",
                        st->completed, st->bytes, st->failed, st->retrying);
        }
        l.lock();
      }
    });
  }

  // On a cluster: the unfinished writes of gateways that died and never came back
  // (DataStore::ClaimAbandoned), looked for twice per lease so a claim never lapses.
  std::thread settler;
  if (rados) {
    settler = std::thread([&] {
      std::unique_lock l(lc_mu);
      while (!lc_cv.wait_for(l, std::chrono::milliseconds(cfg.ceph_lease_s * 500),
                             [&] { return lc_stop; })) {
        l.unlock();
        auto st = SettleAbandoned(index.get(), data.get());
        if (!st.ok()) {
          spdlog::error("settling other gateways' unfinished writes: {}", st.status().ToString());
        } else if (st->republished || st->discarded) {
          spdlog::info("settled abandoned writes: {} kept (committed), {} discarded",
                       st->republished, st->discarded);
        }
        l.lock();
      }
    });
  }

  // Bucket usage: the delta records every write adds are folded once a minute, so that a
  // read (a scrape of /metrics) sums few of them.
  std::thread usage_folder([&] {
    std::unique_lock l(lc_mu);
    while (!lc_cv.wait_for(l, std::chrono::seconds(60), [&] { return lc_stop; })) {
      l.unlock();
      FoldAllUsage(index.get());
      l.lock();
    }
  });

  int sig = 0;
  for (;;) {
    sigwait(&sigs, &sig);
    if (sig != SIGHUP) break;
    // The log files first, for logrotate (README.md "Logs"): each is opened anew at its
    // path, and on an error the old one stays in use.
    if (access_sink && access_to_file) {
      auto file = io::PosixFileSystem()->OpenForAppend(cfg.access_log_path);
      if (file.ok()) {
        access_sink->Reopen(std::move(file).value());
        spdlog::info("received SIGHUP: reopened the access log {}", cfg.access_log_path);
      } else {
        spdlog::error("received SIGHUP: keeping the access log open as it was: {}",
                      file.status().ToString());
      }
    }
    if (audit) {
      if (Status s = audit->Reopen(io::PosixFileSystem()); s.ok())
        spdlog::info("received SIGHUP: reopened the audit log");
      else
        spdlog::error("received SIGHUP: keeping the audit log open as it was: {}", s.ToString());
    }
    if (!server.tls()) {
      spdlog::info("received SIGHUP: no TLS certificate to reload (TLS is off)");
    } else if (Status s = server.ReloadTls(); s.ok()) {
      spdlog::info("received SIGHUP: reloaded the TLS certificate {}", cfg.tls_cert);
    } else {
      spdlog::error("received SIGHUP: keeping the old TLS certificate: {}", s.ToString());
    }
  }
  spdlog::info("received {}: draining {} connection(s)", sig == SIGTERM ? "SIGTERM" : "SIGINT",
               server.open_connections());
  {
    std::lock_guard l(lc_mu);
    lc_stop = true;
  }
  lc_cv.notify_all();
  if (lifecycle.joinable()) lifecycle.join();
  if (replicator.joinable()) replicator.join();
  if (settler.joinable()) settler.join();
  usage_folder.join();
  server.Stop();
  blocking.join();
  spdlog::info("stopped cleanly");
  if (access_sink) access_sink->Flush();  // every line of a clean stop is written
  spdlog::shutdown();
  return 0;
}

int RotateSseKey(const std::string& path) {
  io::FileSystem* fs = io::PosixFileSystem();
  std::vector<s3::SseKeyring::Key> keys;
  if (fs->Exists(path)) {
    bool created = false;
    auto ring = LoadSseKeys(path, fs, io::SystemRandom(), false, &created);
    if (!ring.ok()) {
      std::fprintf(stderr, "sluice: %s\n", ring.status().ToString().c_str());
      return 1;
    }
    keys = ring->keys();
  }
  keys.push_back(s3::SseKeyring::Generate(keys, io::SystemRandom()));
  if (Status s = fs->WriteWholeFileDurably(path, s3::SseKeyring::Format(keys), 0600); !s.ok()) {
    std::fprintf(stderr, "sluice: writing %s: %s\n", path.c_str(), s.ToString().c_str());
    return 1;
  }
  std::printf("%s\n", keys.back().id.c_str());
  std::fprintf(stderr,
               "sluice: %s now holds %zu keys; new SSE-S3 objects use key %s once the server "
               "restarts (every gateway needs the same file); objects written before keep "
               "opening with the key that sealed them\n",
               path.c_str(), keys.size(), keys.back().id.c_str());
  return 0;
}

}  // namespace sluice::server
