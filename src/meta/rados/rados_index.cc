#include "meta/rados/rados_index.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <set>
#include <system_error>
#include <thread>

#include "io/rados/rados_cluster.h"
#include "meta/kv/codec.h"
#include "meta/rados/rados_txn.h"

namespace sluice::meta {
namespace {

constexpr char kBuckets[] = "buckets";
constexpr char kDocs[] = "docs";
constexpr char kNotify[] = "notify";
// A call that keeps losing to other writers gives up with a retryable 503 after this many
// attempts (each waits a random 0..2^n ms, capped at 64 ms, before running again).
constexpr int kMaxAttempts = 40;
// How long a change's announcement waits for the other gateways to acknowledge it.
constexpr uint64_t kNotifyTimeoutMs = 1000;

bool StartsWith(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.compare(0, p.size(), p) == 0;
}

}  // namespace

// The notify channel: hears other gateways' changes, acknowledges each, and re-watches when
// the watch breaks (then every cache is told that anything may have changed).
class RadosIndex::Watcher final : public librados::WatchCtx2 {
 public:
  explicit Watcher(RadosIndex* index) : index_(index) {}
  void handle_notify(uint64_t notify_id, uint64_t cookie, uint64_t /*notifier*/,
                     librados::bufferlist& bl) override {
    // Listeners first, then the acknowledgement: when the announcing call returns, every
    // gateway has dropped what the change made stale.
    index_->Heard(bl.to_str());
    librados::bufferlist reply;
    index_->meta_.notify_ack(kNotify, notify_id, cookie, reply);
  }
  // The watch is gone (a network partition, an OSD change that outlasted its timeout):
  // the re-watch runs on the index's own thread, outside librados' callback.
  void handle_error(uint64_t /*cookie*/, int err) override {
    spdlog::warn("index change channel broke ({}); watching again",
                 std::generic_category().message(-err));
    std::lock_guard l(index_->rewatch_mu_);
    index_->rewatch_ = true;
    index_->rewatch_cv_.notify_all();
  }

 private:
  RadosIndex* index_;
};

std::string RadosIndex::BucketObject(std::string_view bucket) {
  return "bucket." + std::string(bucket);
}

RadosIndex::RadosIndex(librados::Rados* rados, const librados::IoCtx& meta, io::Random* rnd,
                       io::Clock* clock, size_t list_cache_bytes)
    : rados_(rados), rnd_(rnd), clock_(clock), self_(rnd->HexString(8)), ranges_(list_cache_bytes) {
  meta_.dup(meta);
}

RadosIndex::~RadosIndex() {
  {
    std::lock_guard l(maps_mu_);
    split_stop_ = true;
    split_cv_.notify_all();
  }
  if (splitter_.joinable()) splitter_.join();
  {
    std::lock_guard l(rewatch_mu_);
    stopping_ = true;
    rewatch_cv_.notify_all();
  }
  if (rewatcher_.joinable()) rewatcher_.join();
  if (watcher_) {
    meta_.unwatch2(watch_handle_.load());
    // Callbacks already queued may still run: wait for them before the watcher goes.
    rados_->watch_flush();
  }
}

Status RadosIndex::Start() {
  for (const char* oid : {kBuckets, kDocs, kNotify}) {
    librados::ObjectWriteOperation op;
    op.create(false);
    SLUICE_RETURN_IF_ERROR(
        io::RadosStatus(meta_.operate(oid, &op), std::string("creating ") + oid));
  }
  watcher_ = std::make_unique<Watcher>(this);
  uint64_t handle = 0;
  int r = meta_.watch2(kNotify, &handle, watcher_.get());
  watch_handle_.store(handle);
  if (r < 0) {
    watcher_.reset();
    return io::RadosStatus(r, "watching the index change channel");
  }
  rewatcher_ = std::thread([this] { Rewatch(); });
  splitter_ = std::thread([this] { Splitter(); });
  return Status::Ok();
}

void RadosIndex::Rewatch() {
  std::unique_lock l(rewatch_mu_);
  for (;;) {
    rewatch_cv_.wait(l, [&] { return rewatch_ || stopping_; });
    if (stopping_) return;
    rewatch_ = false;
    l.unlock();
    meta_.unwatch2(watch_handle_.load());
    uint64_t handle = 0;
    int r = meta_.watch2(kNotify, &handle, watcher_.get());
    if (r < 0) {
      spdlog::error("cannot watch the index change channel: {}; retrying",
                    std::generic_category().message(-r));
      std::this_thread::sleep_for(std::chrono::seconds(1));
      l.lock();
      rewatch_ = true;
      continue;
    }
    watch_handle_.store(handle);
    // Anything may have changed while no one was listening.
    Heard(std::string(1, '\0') + "B\n");
    Heard(std::string(1, '\0') + "D\n");
    l.lock();
  }
}

template <class F>
auto RadosIndex::Attempts(const std::string* fixed_oid, const BucketName* bucket,
                          const std::string* key, F&& fn) {
  for (int attempt = 1;; attempt++) {
    std::string oid;
    if (fixed_oid) {
      oid = *fixed_oid;
    } else {
      auto map = MapOf(*bucket);
      oid = map->shards[map->Find(*key)].second;
    }
    RadosTxn txn(meta_, oid, &ranges_);
    if (key) txn.Route(*key, rnd_);
    KvIndex view(&txn, /*sync=*/true, &locks_);
    if (commit_latency_) view.TimeCommits(clock_, commit_latency_);
    view.TrackUsage(self_, &usage_seq_);
    auto r = fn(view, txn);
    if (!txn.conflicted()) {
      if (bucket && txn.wrote()) Committed(*bucket, oid);
      return r;
    }
    conflicts_.fetch_add(1, std::memory_order_relaxed);
    if (txn.misrouted()) ForgetMap(*bucket);
    if (attempt == kMaxAttempts)
      return decltype(r)(
          Status(Err::kSlowDown, "index object " + oid + " is too busy; retry", true));
    uint32_t jitter = 0;
    rnd_->Fill(&jitter, sizeof jitter);
    const uint32_t cap = 1u << std::min(attempt, 6);
    std::this_thread::sleep_for(std::chrono::microseconds(jitter % (cap * 1000)));
  }
}

template <class F>
auto RadosIndex::Run(const std::string& oid, F&& fn) {
  return Attempts(&oid, nullptr, nullptr, std::forward<F>(fn));
}

template <class F>
auto RadosIndex::RunKey(const BucketName& bucket, const std::string& key, F&& fn) {
  return Attempts(nullptr, &bucket, &key, std::forward<F>(fn));
}

template <class F>
auto RadosIndex::RunReleasing(const BucketName& bucket, const std::string& key,
                              std::vector<std::string>* released, F&& fn) {
  std::vector<std::string> mine;
  std::string shard;
  auto r = RunKey(bucket, key, [&](KvIndex& view, RadosTxn& txn) {
    mine.clear();
    shard = txn.oid();
    return fn(view, &mine);
  });
  if (r.ok() && released && !mine.empty()) {
    // The caller deletes released data, then clears its G keys with GcDone, which needs
    // the shard they sit in.
    {
      std::lock_guard l(gc_mu_);
      for (const auto& id : mine) gc_bucket_[id] = {bucket.str(), shard, false};
    }
    released->insert(released->end(), mine.begin(), mine.end());
  }
  return r;
}

// ---- range shards: the map, the bucket's lock, the headers ----

Result<std::shared_ptr<const shards::Map>> RadosIndex::LoadMap(const BucketName& bucket) {
  const std::string first = BucketObject(bucket);
  std::map<std::string, librados::bufferlist> out;
  int rv = 0;
  librados::ObjectReadOperation op;
  op.omap_get_vals_by_keys({shards::kMapKey}, &out, &rv);
  const int r = meta_.operate(first, &op, nullptr);
  if (r < 0 && r != -ENOENT) return io::RadosStatus(r, "reading the shard map of " + first);
  auto map = std::make_shared<shards::Map>();
  auto it = out.find(shards::kMapKey);
  if (r == -ENOENT || it == out.end()) {
    map->shards.emplace_back("", first);
  } else {
    SLUICE_RETURN_IF_ERROR(shards::DecodeMap(it->second.to_str(), map.get()));
  }
  std::lock_guard l(maps_mu_);
  maps_[bucket.str()] = map;
  return std::shared_ptr<const shards::Map>(map);
}

std::shared_ptr<const shards::Map> RadosIndex::MapOf(const BucketName& bucket) {
  {
    std::lock_guard l(maps_mu_);
    auto it = maps_.find(bucket.str());
    if (it != maps_.end()) return it->second;
  }
  auto loaded = LoadMap(bucket);
  if (loaded.ok()) return *loaded;
  // Unreadable now: the first shard, whose own range check tells a stale guess.
  auto one = std::make_shared<shards::Map>();
  one->shards.emplace_back("", BucketObject(bucket));
  return one;
}

void RadosIndex::ForgetMap(const BucketName& bucket) {
  std::lock_guard l(maps_mu_);
  maps_.erase(bucket.str());
}

Result<std::vector<std::string>> RadosIndex::ShardsOf(const BucketName& bucket) {
  SLUICE_ASSIGN_OR_RETURN(auto map, LoadMap(bucket));
  std::vector<std::string> out;
  for (const auto& e : map->shards) out.push_back(e.second);
  return out;
}

Status RadosIndex::EachShard(const BucketName& bucket,
                             const std::function<Status(const std::string&)>& fn) {
  SLUICE_ASSIGN_OR_RETURN(auto map, LoadMap(bucket));
  for (const auto& e : map->shards) SLUICE_RETURN_IF_ERROR(fn(e.second));
  return Status::Ok();
}

RadosIndex::BucketLock::BucketLock(RadosIndex* index, const BucketName& bucket, bool wait)
    : index_(index), oid_(BucketObject(bucket)), cookie_(index->rnd_->HexString(8)) {
  for (int tries = 0;; tries++) {
    timeval tv{kLockSeconds, 0};
    const int r = index_->meta_.lock_exclusive(oid_, "sluice.shards", cookie_, "", &tv, 0);
    if (r == 0) {
      held_ = true;
      return;
    }
    if (r != -EBUSY) {
      status_ = io::RadosStatus(r, "locking bucket " + bucket.str());
      return;
    }
    if (!wait || tries >= 3000) {  // 30 s of 10 ms
      status_ = Status(Err::kSlowDown, "bucket " + bucket.str() + " is being re-sharded", true);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

RadosIndex::BucketLock::~BucketLock() {
  if (held_) index_->meta_.unlock(oid_, "sluice.shards", cookie_);
}

// After a change of the first shard's headers: under the lock, so a split under way has
// either copied the new headers already or will copy them before its shard serves.
Status RadosIndex::SyncHeaders(const BucketName& bucket) {
  BucketLock lock(this, bucket, true);
  SLUICE_RETURN_IF_ERROR(lock.status());
  SLUICE_ASSIGN_OR_RETURN(auto map, LoadMap(bucket));
  return SyncHeadersLocked(bucket, *map);
}

Status RadosIndex::SyncHeadersLocked(const BucketName& bucket, const shards::Map& map) {
  if (map.shards.size() < 2) return Status::Ok();
  // The first shard's B and Z entries (and their tails), as stored.
  const std::string bkey = codec::BucketKey(bucket), zp = codec::SnapshotPrefix(bucket);
  auto read_headers = [&](const std::string& oid,
                          std::map<std::string, librados::bufferlist>* out) {
    std::map<std::string, librados::bufferlist> b, z;
    int rv1 = 0, rv2 = 0;
    librados::ObjectReadOperation op;
    op.omap_get_vals_by_keys({bkey, RadosTxn::TailKey(bkey)}, &b, &rv1);
    op.omap_get_vals2("", zp, 100000, &z, nullptr, &rv2);
    const int r = meta_.operate(oid, &op, nullptr);
    if (r < 0 && r != -ENOENT) return io::RadosStatus(r, "reading the headers of " + oid);
    out->insert(b.begin(), b.end());
    out->insert(z.begin(), z.end());
    return Status::Ok();
  };
  std::map<std::string, librados::bufferlist> want;
  SLUICE_RETURN_IF_ERROR(read_headers(map.shards[0].second, &want));
  for (size_t i = 1; i < map.shards.size(); i++) {
    const std::string& oid = map.shards[i].second;
    std::map<std::string, librados::bufferlist> have;
    SLUICE_RETURN_IF_ERROR(read_headers(oid, &have));
    std::set<std::string> rm;
    for (const auto& [k, v] : have)
      if (!want.count(k)) rm.insert(k);
    if (!have.count(bkey)) rm.insert(RadosTxn::TailKey(bkey));
    librados::ObjectWriteOperation op;
    op.create(false);
    if (!rm.empty()) op.omap_rm_keys(rm);
    if (!want.empty()) op.omap_set(want);
    SLUICE_RETURN_IF_ERROR(
        io::RadosStatus(meta_.operate(oid, &op), "copying the bucket record to " + oid));
  }
  return Status::Ok();
}

void RadosIndex::Committed(const BucketName& bucket, const std::string& oid) {
  if (!split_in_background_) return;
  const uint64_t every = std::max<uint64_t>(1, shard_keys_ / 64);
  const uint64_t pack_every = std::max<uint64_t>(1, pack_keys_ / 4);
  bool split = false, pack = false;
  {
    std::lock_guard l(maps_mu_);
    if (++commits_[oid] >= every) {
      commits_[oid] = 0;
      split = true;
    }
    if (pack_keys_ > 0 && ++pack_commits_[oid] >= pack_every) {
      pack_commits_[oid] = 0;
      pack = true;
    }
  }
  if (split) Queue(bucket, oid, true);
  if (pack) Queue(bucket, oid, false);
}

void RadosIndex::Queue(const BucketName& bucket, const std::string& oid, bool split) {
  std::lock_guard l(maps_mu_);
  for (const auto& q : split_queue_)
    if (q.oid == oid && q.split == split) return;
  split_queue_.push_back(Job{bucket.str(), oid, split});
  split_cv_.notify_all();
}

void RadosIndex::Splitter() {
  std::unique_lock l(maps_mu_);
  for (;;) {
    split_cv_.wait(l, [&] { return split_stop_ || !split_queue_.empty(); });
    if (split_stop_) return;
    Job job = split_queue_.front();
    split_queue_.pop_front();
    splitting_ = true;
    l.unlock();
    const BucketName bucket = BucketName::Trusted(job.bucket);
    Status s = job.split ? SplitIfFull(bucket, job.oid) : PackIfNeeded(bucket, job.oid);
    if (!s.ok())
      spdlog::warn("{} index shard {}: {}", job.split ? "splitting" : "packing", job.oid,
                   s.ToString());
    l.lock();
    splitting_ = false;
    split_cv_.notify_all();
  }
}

void RadosIndex::WaitForSplits() {
  std::unique_lock l(maps_mu_);
  split_cv_.wait(l, [&] { return split_stop_ || (split_queue_.empty() && !splitting_); });
}

// ---- change notices ----

void RadosIndex::Subscribe(ChangeListener listener) {
  std::lock_guard l(listeners_mu_);
  listeners_.push_back(std::move(listener));
}

void RadosIndex::Changed(Change::Kind kind, const std::string& name) {
  std::vector<ChangeListener> listeners;
  {
    std::lock_guard l(listeners_mu_);
    listeners = listeners_;
  }
  const Change local{kind, name, true};
  for (const auto& fn : listeners) fn(local);
  // self NUL kind-letter LF name: the others drop or reload before this call returns, or
  // within the timeout when a gateway is gone without unwatching.
  librados::bufferlist bl;
  bl.append(self_ + std::string(1, '\0') + (kind == Change::Kind::kBucket ? "B" : "D") + "\n" +
            name);
  int r = meta_.notify2(kNotify, bl, kNotifyTimeoutMs, nullptr);
  if (r < 0 && r != -ETIMEDOUT)
    spdlog::warn("announcing a change of {}: {}", name, std::generic_category().message(-r));
}

void RadosIndex::Heard(const std::string& payload) {
  const size_t nul = payload.find('\0');
  if (nul == std::string::npos || payload.size() < nul + 3 || payload[nul + 2] != '\n') return;
  if (payload.compare(0, nul, self_) == 0) return;  // this process heard it already
  const Change change{payload[nul + 1] == 'B' ? Change::Kind::kBucket : Change::Kind::kDocs,
                      payload.substr(nul + 3), false};
  std::vector<ChangeListener> listeners;
  {
    std::lock_guard l(listeners_mu_);
    listeners = listeners_;
  }
  for (const auto& fn : listeners) fn(change);
}

// ---- the directory of buckets ----

// A bucket is listed before its record is written and again after (with a new token each
// time), and unlisted only if the token is still the one read after its record was
// removed: a create racing a delete of the same name always ends listed when it exists.
Status RadosIndex::ListBucket(const BucketName& name) {
  librados::ObjectWriteOperation op;
  librados::bufferlist token;
  token.append(rnd_->HexString(8));
  op.omap_set({{name.str(), token}});
  return io::RadosStatus(meta_.operate(kBuckets, &op), "listing bucket " + name.str());
}

Status RadosIndex::UnlistBucketIfGone(const BucketName& name) {
  std::map<std::string, librados::bufferlist> cur;
  int rv = 0;
  librados::ObjectReadOperation rop;
  rop.omap_get_vals_by_keys({name.str()}, &cur, &rv);
  int r = meta_.operate(kBuckets, &rop, nullptr);
  if (r < 0) return io::RadosStatus(r, "reading the bucket directory");
  if (cur.empty()) return Status::Ok();
  // Gone means no bucket record and no data left to collect, in any shard.
  SLUICE_ASSIGN_OR_RETURN(auto map, LoadMap(name));
  for (const auto& shard : map->shards) {
    const bool first = shard.second == BucketObject(name);
    auto rest = Run(shard.second, [&](KvIndex&, RadosTxn& txn) -> Result<bool> {
      std::string v;
      Status s = first ? txn.Get(codec::BucketKey(name), &v) : Status(Err::kNotFound, "");
      if (s.ok()) return false;
      if (s.code() != Err::kNotFound) return s;
      auto it = txn.NewUnguardedIterator();
      const std::string gp(1, codec::kGc);
      it->Seek(gp);
      SLUICE_RETURN_IF_ERROR(it->status());
      return !(it->Valid() && StartsWith(it->key(), gp));
    });
    if (!rest.ok() || !*rest) return rest.status();
  }
  librados::ObjectWriteOperation op;
  std::map<std::string, std::pair<librados::bufferlist, int>> cmp;
  cmp.emplace(name.str(), std::make_pair(cur.begin()->second, LIBRADOS_CMPXATTR_OP_EQ));
  int cmp_rv = 0;
  op.omap_cmp(cmp, &cmp_rv);
  op.omap_rm_keys({name.str()});
  r = meta_.operate(kBuckets, &op);
  if (r == -ECANCELED) return Status::Ok();  // listed again meanwhile: a create won
  return io::RadosStatus(r, "unlisting bucket " + name.str());
}

// ---- buckets ----

Status RadosIndex::CreateBucket(const BucketInfo& info) {
  SLUICE_RETURN_IF_ERROR(ListBucket(info.name));
  SLUICE_RETURN_IF_ERROR(
      Run(BucketObject(info.name), [&](KvIndex& v, RadosTxn&) { return v.CreateBucket(info); }));
  SLUICE_RETURN_IF_ERROR(SyncHeaders(info.name));  // a name used before may have shards
  SLUICE_RETURN_IF_ERROR(ListBucket(info.name));
  Changed(Change::Kind::kBucket, info.name);
  return Status::Ok();
}

Result<BucketInfo> RadosIndex::GetBucket(const BucketName& name) {
  return Run(BucketObject(name), [&](KvIndex& v, RadosTxn&) { return v.GetBucket(name); });
}

// Each shard keeps the usage its commits added; the bucket's is their sum.
Result<BucketUsage> RadosIndex::GetBucketUsage(const BucketName& bucket) {
  BucketUsage sum;
  SLUICE_RETURN_IF_ERROR(EachShard(bucket, [&](const std::string& oid) -> Status {
    size_t deltas = 0;
    auto u = Run(oid, [&](KvIndex& v, RadosTxn&) { return v.ReadBucketUsage(bucket, &deltas); });
    SLUICE_RETURN_IF_ERROR(u.status());
    sum.Add(*u);
    if (deltas > KvIndex::kFoldUsageAfter) {
      Status f = Run(oid, [&](KvIndex& v, RadosTxn&) { return v.FoldUsage(bucket); });
      if (!f.ok())
        spdlog::warn("bucket {}: folding usage records: {} (the next read tries again)",
                     bucket.str(), f.ToString());
    }
    return Status::Ok();
  }));
  return sum;
}

// Each shard counts the records it serves, so no split may be half done: under the
// bucket's lock, a split left fenced is finished first.
Status RadosIndex::RecountUsage(const BucketName& bucket) {
  BucketLock lock(this, bucket, true);
  SLUICE_RETURN_IF_ERROR(lock.status());
  SLUICE_RETURN_IF_ERROR(EachShard(
      bucket, [&](const std::string& oid) -> Status { return FinishFenced(bucket, oid); }));
  return EachShard(bucket, [&](const std::string& oid) {
    return Run(oid, [&](KvIndex& v, RadosTxn&) { return v.RecountUsage(bucket); });
  });
}

Status RadosIndex::DeleteBucket(const BucketName& name) {
  // Every other shard first (each checked empty and its copy of the record removed in one
  // guarded commit), the first shard, which holds the configurations, last. A shard found
  // not empty stops it, and the record is copied back to the shards already done.
  auto del = [&]() -> Status {
    BucketLock lock(this, name, true);
    SLUICE_RETURN_IF_ERROR(lock.status());
    SLUICE_ASSIGN_OR_RETURN(auto map, LoadMap(name));
    std::vector<std::string> order;
    for (size_t i = 1; i < map->shards.size(); i++) order.push_back(map->shards[i].second);
    order.push_back(map->shards[0].second);
    // Every shard empty first, so that a bucket found not empty is left as it was (the
    // delete of a shard also aborts its uploads); a write racing the deletes is still
    // refused by the shard it lands in.
    for (size_t i = 0; i < map->shards.size() && map->shards.size() > 1; i++) {
      Status s =
          Run(map->shards[i].second, [&](KvIndex& v, RadosTxn&) { return v.CheckDeletable(name); });
      if (!s.ok() && !(s.code() == Err::kNoSuchBucket && i > 0)) return s;
    }
    for (const auto& oid : order) {
      Status s = Run(oid, [&](KvIndex& v, RadosTxn&) { return v.DeleteBucket(name); });
      if (s.ok() || (s.code() == Err::kNoSuchBucket && oid != order.back())) continue;
      if (Status back = SyncHeadersLocked(name, *map); !back.ok())
        spdlog::error("bucket {}: restoring its record after a refused delete: {}", name.str(),
                      back.ToString());
      return s;
    }
    return Status::Ok();
  };
  Status s = del();
  if (s.code() == Err::kInvalidBucketState) {
    SLUICE_ASSIGN_OR_RETURN(int dropped, DropDanglingSnapshots(name));
    if (dropped > 0) s = del();
  }
  SLUICE_RETURN_IF_ERROR(s);
  Changed(Change::Kind::kBucket, name);
  if (Status u = UnlistBucketIfGone(name); !u.ok())
    spdlog::warn("bucket {} deleted, still listed: {}", name.str(), u.ToString());
  return Status::Ok();
}

Result<std::vector<std::string>> RadosIndex::ListedBuckets() {
  std::vector<std::string> names;
  std::string after;
  for (bool more = true; more;) {
    std::map<std::string, librados::bufferlist> page;
    int rv = 0;
    librados::ObjectReadOperation op;
    op.omap_get_vals2(after, "", 1000, &page, &more, &rv);
    int r = meta_.operate(kBuckets, &op, nullptr);
    if (r < 0) return io::RadosStatus(r, "reading the bucket directory");
    for (auto& [k, v] : page) names.push_back(k);
    if (page.empty()) break;
    after = page.rbegin()->first;
  }
  return names;
}

Result<std::vector<BucketInfo>> RadosIndex::ListBuckets() {
  // The directory, then each listed bucket's own record, read in parallel.
  SLUICE_ASSIGN_OR_RETURN(auto names, ListedBuckets());
  struct Pending {
    librados::AioCompletion* done = nullptr;
    std::map<std::string, librados::bufferlist> out;
    int rv = 0;
  };
  std::vector<BucketInfo> out;
  constexpr size_t kWindow = 64;
  for (size_t start = 0; start < names.size(); start += kWindow) {
    const size_t end = std::min(names.size(), start + kWindow);
    std::vector<Pending> pending(end - start);
    for (size_t i = start; i < end; i++) {
      Pending& p = pending[i - start];
      p.done = librados::Rados::aio_create_completion();
      librados::ObjectReadOperation op;
      const std::string bkey = codec::BucketKey(names[i]);
      op.omap_get_vals_by_keys({bkey, RadosTxn::TailKey(bkey)}, &p.out, &p.rv);
      meta_.aio_operate(BucketObject(names[i]), p.done, &op, nullptr);
    }
    Status failed;
    for (size_t j = 0; j < pending.size(); j++) {
      Pending& p = pending[j];
      p.done->wait_for_complete();
      int r = p.done->get_return_value();
      p.done->release();
      if (r < 0 && r != -ENOENT && failed.ok())
        failed = io::RadosStatus(r, "reading a bucket record");
      if (r < 0 || p.out.empty()) continue;  // listed, never created or since deleted
      const std::string bkey = codec::BucketKey(names[start + j]);
      auto main = p.out.find(bkey);
      if (main == p.out.end()) continue;
      const std::string v = main->second.to_str();
      std::string record(RadosTxn::StoredHead(v).value_or(""));
      if (RadosTxn::IsSplit(v)) {
        auto tail = p.out.find(RadosTxn::TailKey(bkey));
        if (tail != p.out.end()) record += RadosTxn::Unstored(tail->second.to_str()).value_or("");
      }
      BucketInfo b;
      if (!RadosTxn::StoredHead(v) || !codec::DecodeBucket(record, &b).ok()) {
        if (failed.ok()) failed = Status(Err::kCorruption, "a bad bucket record");
        continue;
      }
      out.push_back(std::move(b));
    }
    SLUICE_RETURN_IF_ERROR(failed);
  }
  return out;
}

Status RadosIndex::SetBucketVersioning(const BucketName& bucket, Versioning state) {
  auto set = [&] {
    return Run(BucketObject(bucket),
               [&](KvIndex& v, RadosTxn&) { return v.SetBucketVersioning(bucket, state); });
  };
  Status s = set();
  if (s.code() == Err::kInvalidBucketState) {
    SLUICE_ASSIGN_OR_RETURN(int dropped, DropDanglingSnapshots(bucket));
    if (dropped > 0) s = set();
  }
  SLUICE_RETURN_IF_ERROR(s);
  SLUICE_RETURN_IF_ERROR(SyncHeaders(bucket));
  Changed(Change::Kind::kBucket, bucket);
  return Status::Ok();
}

Status RadosIndex::SetBucketObjectLock(const BucketName& bucket, const ObjectLockConfig& lock) {
  SLUICE_RETURN_IF_ERROR(Run(BucketObject(bucket), [&](KvIndex& v, RadosTxn&) {
    return v.SetBucketObjectLock(bucket, lock);
  }));
  SLUICE_RETURN_IF_ERROR(SyncHeaders(bucket));
  Changed(Change::Kind::kBucket, bucket);
  return Status::Ok();
}

// ---- snapshots: two bucket objects, the hold first ----
//
// The source's hold (its Z record and last_snapshot_at) is committed first, then the
// snapshot's bucket record; DeleteSnapshot removes them in the other order. A gateway dying
// in between leaves a hold without a snapshot, never a snapshot without a hold: the versions
// it would show are never lost, and DropDanglingSnapshots removes the stray hold when it
// stands in the way.

Status RadosIndex::CreateSnapshot(const BucketName& source, const BucketName& name,
                                  int64_t at_micros, const std::string& owner) {
  auto taken = GetBucket(name);
  if (taken.ok())
    return Error(Err::kBucketAlreadyExists, "The requested bucket name is not available.");
  if (taken.status().code() != Err::kNoSuchBucket) return taken.status();
  BucketInfo snap;
  SLUICE_RETURN_IF_ERROR(Run(BucketObject(source), [&](KvIndex&, RadosTxn& txn) -> Status {
    std::string v;
    Status s = txn.Get(codec::BucketKey(source), &v);
    if (s.code() == Err::kNotFound) return Error(Err::kNoSuchBucket, source);
    SLUICE_RETURN_IF_ERROR(s);
    BucketInfo src;
    SLUICE_RETURN_IF_ERROR(codec::DecodeBucket(v, &src));
    if (!src.snapshot_of.empty())
      return Error(Err::kInvalidRequest, source.str() + " is itself a snapshot");
    if (src.versioning != Versioning::kEnabled)
      return Error(Err::kInvalidBucketState,
                   "A snapshot needs a bucket whose versioning is Enabled: " + source.str());
    snap = KvIndex::SnapshotRecord(&src, name, at_micros, owner);
    KvBatch b;
    b.Put(codec::BucketKey(source), codec::EncodeBucket(src));
    b.Put(codec::SnapshotKey(source, name), std::to_string(snap.snapshot_at));
    return txn.Write(b, true);
  }));
  // Every shard holds the source's versions as of the snapshot before the snapshot exists.
  SLUICE_RETURN_IF_ERROR(SyncHeaders(source));
  SLUICE_RETURN_IF_ERROR(ListBucket(name));
  Status made =
      Run(BucketObject(name), [&](KvIndex& v, RadosTxn&) { return v.CreateBucket(snap); });
  if (made.ok()) made = SyncHeaders(name);
  if (!made.ok()) {
    // The name was taken meanwhile: take the hold back.
    Status undo = Run(BucketObject(source), [&](KvIndex&, RadosTxn& txn) {
      KvBatch b;
      b.Delete(codec::SnapshotKey(source, name));
      return txn.Write(b, true);
    });
    if (undo.ok()) undo = SyncHeaders(source);
    if (!undo.ok())
      spdlog::warn("dropping the hold of snapshot {}: {}", name.str(), undo.ToString());
    if (made.code() == Err::kBucketAlreadyOwnedByYou)
      return Error(Err::kBucketAlreadyExists, "The requested bucket name is not available.");
    return made;
  }
  SLUICE_RETURN_IF_ERROR(ListBucket(name));
  Changed(Change::Kind::kBucket, name);
  return Status::Ok();
}

Status RadosIndex::DeleteSnapshot(const BucketName& name) {
  BucketInfo snap;
  SLUICE_RETURN_IF_ERROR(Run(BucketObject(name), [&](KvIndex& v, RadosTxn& txn) -> Status {
    SLUICE_ASSIGN_OR_RETURN(snap, v.GetBucket(name));
    if (snap.snapshot_of.empty())
      return Error(Err::kInvalidRequest, name.str() + " is not a snapshot");
    KvBatch b;
    b.Delete(codec::BucketKey(name));
    auto it = txn.NewIterator();
    const std::string cprefix = codec::ConfigPrefix(name);
    for (it->Seek(cprefix); it->Valid() && StartsWith(it->key(), cprefix); it->Next())
      b.Delete(std::string(it->key()));
    SLUICE_RETURN_IF_ERROR(it->status());
    return txn.Write(b, true);
  }));
  const BucketName source = BucketName::Trusted(snap.snapshot_of);
  SLUICE_RETURN_IF_ERROR(Run(BucketObject(source), [&](KvIndex&, RadosTxn& txn) {
    KvBatch b;
    b.Delete(codec::SnapshotKey(source, name));
    return txn.Write(b, true);
  }));
  SLUICE_RETURN_IF_ERROR(SyncHeaders(source));
  Changed(Change::Kind::kBucket, name);
  if (Status u = UnlistBucketIfGone(name); !u.ok())
    spdlog::warn("snapshot {} deleted, still listed: {}", name.str(), u.ToString());
  return Status::Ok();
}

Result<int> RadosIndex::DropDanglingSnapshots(const BucketName& source) {
  std::vector<std::pair<std::string, std::string>> holds;  // snapshot name, Z value
  SLUICE_RETURN_IF_ERROR(Run(BucketObject(source), [&](KvIndex&, RadosTxn& txn) -> Status {
    holds.clear();
    auto it = txn.NewUnguardedIterator();
    const std::string zp = codec::SnapshotPrefix(source);
    for (it->Seek(zp); it->Valid() && StartsWith(it->key(), zp); it->Next())
      holds.emplace_back(std::string(it->key().substr(zp.size())), std::string(it->value()));
    return it->status();
  }));
  int dropped = 0;
  const int64_t young = clock_->NowMicros() - kSnapshotHoldGraceMicros;
  for (const auto& hold : holds) {
    // Named references, not a structured binding: the lambda below captures them, which
    // clang 14 (scripts/tidy.sh) does not allow of a binding.
    const std::string& snap_name = hold.first;
    const std::string& at = hold.second;
    // The hold's value is its snapshot's instant, taken from the creating gateway's clock
    // when the snapshot was made: a recent one may be a creation still under way.
    int64_t made = 0;
    auto [end, ec] = std::from_chars(at.data(), at.data() + at.size(), made);
    if (ec != std::errc() || end != at.data() + at.size())
      return Status(Err::kCorruption, "bad snapshot hold " + snap_name + " on " + source.str());
    if (made > young) continue;
    const BucketName snap_bucket = BucketName::Trusted(snap_name);
    auto b = GetBucket(snap_bucket);
    if (b.ok() && b->snapshot_of == source.str()) continue;
    if (!b.ok() && b.status().code() != Err::kNoSuchBucket) return b.status();
    SLUICE_RETURN_IF_ERROR(Run(BucketObject(source), [&](KvIndex&, RadosTxn& txn) -> Status {
      std::string v;
      Status s = txn.Get(codec::SnapshotKey(source, snap_bucket), &v);
      if (s.code() == Err::kNotFound || (s.ok() && v != at)) return Status::Ok();
      SLUICE_RETURN_IF_ERROR(s);
      KvBatch batch;
      batch.Delete(codec::SnapshotKey(source, snap_bucket));
      return txn.Write(batch, true);
    }));
    spdlog::info("dropped the hold of snapshot {} on {}: the snapshot is gone", snap_name,
                 source.str());
    dropped++;
  }
  if (dropped > 0) SLUICE_RETURN_IF_ERROR(SyncHeaders(source));
  return dropped;
}

Result<ObjectMeta> RadosIndex::GetObjectAsOf(const BucketName& source, const ObjectKey& key,
                                             int64_t at_micros) {
  return RunKey(source, key.str(),
                [&](KvIndex& v, RadosTxn&) { return v.GetObjectAsOf(source, key, at_micros); });
}

// ---- configurations and documents ----

Status RadosIndex::PutBucketConfig(const BucketName& bucket, const std::string& name,
                                   const std::string& doc) {
  SLUICE_RETURN_IF_ERROR(Run(BucketObject(bucket), [&](KvIndex& v, RadosTxn&) {
    return v.PutBucketConfig(bucket, name, doc);
  }));
  Changed(Change::Kind::kBucket, bucket);
  return Status::Ok();
}

Result<std::string> RadosIndex::GetBucketConfig(const BucketName& bucket, const std::string& name) {
  return Run(BucketObject(bucket),
             [&](KvIndex& v, RadosTxn&) { return v.GetBucketConfig(bucket, name); });
}

Status RadosIndex::DeleteBucketConfig(const BucketName& bucket, const std::string& name) {
  SLUICE_RETURN_IF_ERROR(Run(BucketObject(bucket), [&](KvIndex& v, RadosTxn&) {
    return v.DeleteBucketConfig(bucket, name);
  }));
  Changed(Change::Kind::kBucket, bucket);
  return Status::Ok();
}

Status RadosIndex::WriteDocs(const std::vector<DocWrite>& writes) {
  SLUICE_RETURN_IF_ERROR(Run(kDocs, [&](KvIndex& v, RadosTxn&) { return v.WriteDocs(writes); }));
  std::vector<std::string> namespaces;  // once each, in the order the writes name them
  for (const auto& w : writes)
    if (std::find(namespaces.begin(), namespaces.end(), w.ns) == namespaces.end())
      namespaces.push_back(w.ns);
  for (const auto& ns : namespaces) Changed(Change::Kind::kDocs, ns);
  return Status::Ok();
}

Result<std::vector<std::pair<std::string, std::string>>> RadosIndex::ListDocs(
    const std::string& ns) {
  return Run(kDocs, [&](KvIndex& v, RadosTxn&) { return v.ListDocs(ns); });
}

// ---- objects ----

Result<ObjectMeta> RadosIndex::GetObject(const BucketName& bucket, const ObjectKey& key,
                                         const VersionId& version) {
  return RunKey(bucket, key.str(),
                [&](KvIndex& v, RadosTxn&) { return v.GetObject(bucket, key, version); });
}

std::vector<Result<ObjectMeta>> RadosIndex::GetObjects(const BucketName& bucket,
                                                       const std::vector<ObjectKey>& keys) {
  // One read per shard the keys fall in.
  auto map = MapOf(bucket);
  std::map<size_t, std::vector<size_t>> by_shard;
  for (size_t i = 0; i < keys.size(); i++) by_shard[map->Find(keys[i].str())].push_back(i);
  std::vector<Result<ObjectMeta>> out(keys.size(), Status(Err::kInternal, "not looked up"));
  for (const auto& entry : by_shard) {
    const std::vector<size_t>& which = entry.second;
    std::vector<ObjectKey> some;
    for (size_t i : which) some.push_back(keys[i]);
    // Routed by the first key: a stale map shows there, and the call runs again. The
    // others the shard turns out not to serve (a split moved them) are looked up alone.
    std::vector<bool> elsewhere;
    auto got = RunKey(bucket, some.front().str(), [&](KvIndex& v, RadosTxn& txn) {
      auto r = v.GetObjects(bucket, some);
      elsewhere.assign(some.size(), false);
      for (size_t j = 1; j < some.size(); j++) elsewhere[j] = !txn.range().Serves(some[j].str());
      return Result<std::vector<Result<ObjectMeta>>>(std::move(r));
    });
    for (size_t j = 0; j < which.size(); j++) {
      if (!got.ok()) {
        out[which[j]] = got.status();
      } else if (elsewhere[j]) {
        out[which[j]] = GetObject(bucket, some[j]);
      } else {
        out[which[j]] = std::move((*got)[j]);
      }
    }
  }
  return out;
}

Result<WriteResult> RadosIndex::PutObject(const BucketName& bucket, const ObjectKey& key,
                                          const ObjectMeta& meta, const WriteCondition& cond,
                                          std::vector<std::string>* released) {
  return RunReleasing(bucket, key.str(), released, [&](KvIndex& v, std::vector<std::string>* rel) {
    return v.PutObject(bucket, key, meta, cond, rel);
  });
}

Status RadosIndex::SetObjectTags(const BucketName& bucket, const ObjectKey& key,
                                 const VersionId& version, const HeaderList& tags) {
  return RunKey(bucket, key.str(),
                [&](KvIndex& v, RadosTxn&) { return v.SetObjectTags(bucket, key, version, tags); });
}

Status RadosIndex::SetObjectAcl(const BucketName& bucket, const ObjectKey& key,
                                const VersionId& version, const std::string& acl) {
  return RunKey(bucket, key.str(),
                [&](KvIndex& v, RadosTxn&) { return v.SetObjectAcl(bucket, key, version, acl); });
}

Result<WriteResult> RadosIndex::DeleteObject(const BucketName& bucket, const ObjectKey& key,
                                             const DeleteRequest& request,
                                             std::vector<std::string>* released) {
  auto del = [&] {
    return RunReleasing(bucket, key.str(), released,
                        [&](KvIndex& v, std::vector<std::string>* rel) {
                          return v.DeleteObject(bucket, key, request, rel);
                        });
  };
  auto r = del();
  if (r.status().code() == Err::kVersionHeld) {
    SLUICE_ASSIGN_OR_RETURN(int dropped, DropDanglingSnapshots(bucket));
    if (dropped > 0) r = del();
  }
  return r;
}

Status RadosIndex::SetObjectRetention(const BucketName& bucket, const ObjectKey& key,
                                      const VersionId& version, const Retention& retention,
                                      bool bypass_governance, int64_t now_micros) {
  return RunKey(bucket, key.str(), [&](KvIndex& v, RadosTxn&) {
    return v.SetObjectRetention(bucket, key, version, retention, bypass_governance, now_micros);
  });
}

Status RadosIndex::SetObjectLegalHold(const BucketName& bucket, const ObjectKey& key,
                                      const VersionId& version, bool on) {
  return RunKey(bucket, key.str(), [&](KvIndex& v, RadosTxn&) {
    return v.SetObjectLegalHold(bucket, key, version, on);
  });
}

// A member table lives in the shard of its archive's key.
Result<TarEntry> RadosIndex::GetMember(const BucketName& bucket, const ObjectKey& key,
                                       const std::string& data_id, const std::string& name) {
  return RunKey(bucket, key.str(),
                [&](KvIndex& v, RadosTxn&) { return v.GetMember(bucket, key, data_id, name); });
}

std::vector<Result<TarEntry>> RadosIndex::GetMembers(const BucketName& bucket, const ObjectKey& key,
                                                     const std::string& data_id,
                                                     const std::vector<std::string>& names) {
  auto got = RunKey(bucket, key.str(), [&](KvIndex& v, RadosTxn&) {
    return Result<std::vector<Result<TarEntry>>>(v.GetMembers(bucket, key, data_id, names));
  });
  if (got.ok()) return std::move(got).value();
  return std::vector<Result<TarEntry>>(names.size(), got.status());
}

Result<std::vector<TarEntry>> RadosIndex::ListMembers(const BucketName& bucket,
                                                      const ObjectKey& key,
                                                      const std::string& data_id,
                                                      const std::string& after, size_t max) {
  return RunKey(bucket, key.str(), [&](KvIndex& v, RadosTxn&) {
    return v.ListMembers(bucket, key, data_id, after, max);
  });
}

// ---- listings: shard after shard ----
//
// A listing runs on the shard serving where it starts; each shard's transaction shows only
// the keys it serves, so a page that ends short ends with its shard, and the listing goes
// on in the next one from the last key or prefix returned (so a common prefix that spans
// two shards is returned once). `Upper` is the end of what the shard served.

namespace {

std::string Upper(const shards::Range& r) {
  return r.state == shards::Range::State::kMoved ? r.split_at : r.hi;
}

// Whether keys at or past `hi` can still match `prefix`.
bool PastPrefix(const std::string& hi, const std::string& prefix) {
  if (hi.empty()) return true;  // the last shard
  if (prefix.empty()) return false;
  const std::string end = codec::PrefixSuccessor(prefix);
  return !end.empty() && hi >= end;
}

}  // namespace

// Whether `any(view)` finds something in the shard serving `from` or in one after it that
// can still hold keys under `prefix` (a shard may be empty).
template <class F>
Result<bool> RadosIndex::AnyFrom(const BucketName& bucket, std::string from,
                                 const std::string& prefix, F&& any) {
  for (;;) {
    std::string hi;
    auto found = RunKey(bucket, from, [&](KvIndex& v, RadosTxn& txn) {
      auto r = any(v);
      hi = Upper(txn.range());
      return r;
    });
    SLUICE_RETURN_IF_ERROR(found.status());
    if (*found) return true;
    if (PastPrefix(hi, prefix)) return false;
    from = hi;
  }
}

Result<ListPage> RadosIndex::ListObjects(const BucketName& bucket, const ListQuery& q) {
  ListPage out;
  ListQuery cur = q;
  std::string from = std::max(q.prefix, q.start_after);
  for (;;) {
    std::string hi;
    bool unpacked = false;
    std::string oid;
    auto page = RunKey(bucket, from, [&](KvIndex& v, RadosTxn& txn) {
      auto r = v.ListObjects(bucket, cur);
      hi = Upper(txn.range());
      unpacked = !txn.range().Packing();
      oid = txn.oid();
      return r;
    });
    SLUICE_RETURN_IF_ERROR(page.status());
    // A shard listed entry by entry that would fill a pack gets its packs built.
    if (unpacked && pack_keys_ > 0 && split_in_background_ && page->objects.size() >= pack_keys_)
      Queue(bucket, oid, false);
    // The first shard's page is the answer's start (entries are large: moved as a whole).
    if (out.objects.empty()) {
      out.objects = std::move(page->objects);
    } else {
      out.objects.reserve(out.objects.size() + page->objects.size());
      for (auto& e : page->objects) out.objects.push_back(std::move(e));
    }
    for (auto& c : page->common_prefixes)
      if (out.common_prefixes.empty() || out.common_prefixes.back() != c)
        out.common_prefixes.push_back(std::move(c));
    const size_t have = out.objects.size() + out.common_prefixes.size();
    std::string last = out.objects.empty() ? "" : out.objects.back().key;
    if (!out.common_prefixes.empty()) last = std::max(last, out.common_prefixes.back());
    if (page->truncated) {
      out.truncated = true;
      out.next_marker = page->next_marker;
      return out;
    }
    // max-keys 0 answers as the first shard does (nothing, not truncated).
    if (PastPrefix(hi, q.prefix) || q.max_keys == 0) return out;
    if (have >= q.max_keys) {
      // Full at a shard's end: whether more follow decides `truncated`.
      ListQuery probe = cur;
      probe.max_keys = 1;
      if (!last.empty()) probe.start_after = std::max(cur.start_after, last);
      SLUICE_ASSIGN_OR_RETURN(
          bool more, AnyFrom(bucket, hi, q.prefix, [&](KvIndex& v) {
            auto p = v.ListObjects(bucket, probe);
            if (!p.ok()) return Result<bool>(p.status());
            return Result<bool>(!p->objects.empty() || !p->common_prefixes.empty());
          }));
      if (more) {
        out.truncated = true;
        out.next_marker = last;
      }
      return out;
    }
    cur.max_keys = static_cast<uint32_t>(q.max_keys - have);
    if (!last.empty()) cur.start_after = std::max(cur.start_after, last);
    from = hi;
  }
}

Result<VersionListPage> RadosIndex::ListObjectVersions(const BucketName& bucket,
                                                       const VersionListQuery& q) {
  VersionListPage out;
  VersionListQuery cur = q;
  std::string from = std::max(q.prefix, q.key_marker);
  for (;;) {
    std::string hi;
    auto page = RunKey(bucket, from, [&](KvIndex& v, RadosTxn& txn) {
      auto r = v.ListObjectVersions(bucket, cur);
      hi = Upper(txn.range());
      return r;
    });
    SLUICE_RETURN_IF_ERROR(page.status());
    for (auto& e : page->entries) out.entries.push_back(std::move(e));
    for (auto& c : page->common_prefixes)
      if (out.common_prefixes.empty() || out.common_prefixes.back() != c)
        out.common_prefixes.push_back(std::move(c));
    const size_t have = out.entries.size() + out.common_prefixes.size();
    std::string last = out.entries.empty() ? "" : out.entries.back().key;
    if (!out.common_prefixes.empty()) last = std::max(last, out.common_prefixes.back());
    if (page->truncated) {
      out.truncated = true;
      out.next_key_marker = page->next_key_marker;
      out.next_version_id_marker = page->next_version_id_marker;
      return out;
    }
    if (PastPrefix(hi, q.prefix) || q.max_keys == 0) return out;
    VersionListQuery next = cur;
    next.version_id_marker = VersionId();
    if (!last.empty()) next.key_marker = std::max(cur.key_marker, last);
    if (have >= q.max_keys) {
      next.max_keys = 1;
      SLUICE_ASSIGN_OR_RETURN(
          bool more, AnyFrom(bucket, hi, q.prefix, [&](KvIndex& v) {
            auto p = v.ListObjectVersions(bucket, next);
            if (!p.ok()) return Result<bool>(p.status());
            return Result<bool>(!p->entries.empty() || !p->common_prefixes.empty());
          }));
      if (more) {
        // Ended on the last version of a key, or on a prefix: resume after it.
        out.truncated = true;
        out.next_key_marker = last;
        if (!out.entries.empty() && out.entries.back().key == last)
          out.next_version_id_marker = out.entries.back().meta.version;
      }
      return out;
    }
    next.max_keys = static_cast<uint32_t>(q.max_keys - have);
    cur = next;
    from = hi;
  }
}

// ---- multipart uploads: in the shard of their key ----

Status RadosIndex::CreateUpload(const BucketName& bucket, const UploadInfo& info) {
  return RunKey(bucket, info.key.str(),
                [&](KvIndex& v, RadosTxn&) { return v.CreateUpload(bucket, info); });
}

Result<UploadInfo> RadosIndex::GetUpload(const BucketName& bucket, const ObjectKey& key,
                                         const UploadId& upload_id) {
  return RunKey(bucket, key.str(),
                [&](KvIndex& v, RadosTxn&) { return v.GetUpload(bucket, key, upload_id); });
}

Status RadosIndex::PutPart(const BucketName& bucket, const ObjectKey& key,
                           const UploadId& upload_id, const PartInfo& part,
                           std::vector<std::string>* released) {
  return RunReleasing(bucket, key.str(), released, [&](KvIndex& v, std::vector<std::string>* rel) {
    return v.PutPart(bucket, key, upload_id, part, rel);
  });
}

Result<std::vector<PartInfo>> RadosIndex::ListParts(const BucketName& bucket, const ObjectKey& key,
                                                    const UploadId& upload_id, uint32_t marker,
                                                    uint32_t max) {
  return RunKey(bucket, key.str(), [&](KvIndex& v, RadosTxn&) {
    return v.ListParts(bucket, key, upload_id, marker, max);
  });
}

Result<WriteResult> RadosIndex::CompleteUpload(const BucketName& bucket, const ObjectKey& key,
                                               const UploadId& upload_id, const ObjectMeta& meta,
                                               const WriteCondition& cond,
                                               std::vector<std::string>* released) {
  return RunReleasing(bucket, key.str(), released, [&](KvIndex& v, std::vector<std::string>* rel) {
    return v.CompleteUpload(bucket, key, upload_id, meta, cond, rel);
  });
}

// The answer of a completed upload stays in the shard that completed it (a split does not
// move it): asked for by upload id alone, which only a retried Complete does, so each shard
// is asked in turn.
Result<CompletedUpload> RadosIndex::GetCompletedUpload(const BucketName& bucket,
                                                       const UploadId& upload_id) {
  Result<CompletedUpload> found = Error(Err::kNoSuchUpload, "");
  SLUICE_RETURN_IF_ERROR(EachShard(bucket, [&](const std::string& oid) -> Status {
    if (found.ok()) return Status::Ok();
    auto r =
        Run(oid, [&](KvIndex& v, RadosTxn&) { return v.GetCompletedUpload(bucket, upload_id); });
    if (r.ok() || r.status().code() != Err::kNoSuchUpload) found = std::move(r);
    return Status::Ok();
  }));
  if (!found.ok()) return found;
  // A Complete drops, in its own shard, the answers older than the retention before it; the
  // shards' sweeps are separate, so an answer counts as dropped once any shard has a
  // Complete that would have dropped it (its age record: T, time, id).
  SLUICE_ASSIGN_OR_RETURN(auto map, LoadMap(bucket));
  if (map->shards.size() < 2) return found;
  const std::string after =
      codec::CompletedByAgeKey(found->completed_micros + kCompletedUploadRetentionMicros + 1, "");
  for (const auto& shard : map->shards) {
    librados::ObjectReadOperation op;
    std::set<std::string> later;
    bool more = false;
    int rv = 0;
    op.omap_get_keys2(after, 1, &later, &more, &rv);
    const int r = meta_.operate(shard.second, &op, nullptr);
    if (r < 0 && r != -ENOENT) return io::RadosStatus(r, "reading index shard " + shard.second);
    if (!later.empty() && later.begin()->front() == codec::kCompletedByAge)
      return Error(Err::kNoSuchUpload, "");
  }
  return found;
}

Status RadosIndex::AbortUpload(const BucketName& bucket, const ObjectKey& key,
                               const UploadId& upload_id, std::vector<std::string>* released) {
  return RunReleasing(bucket, key.str(), released, [&](KvIndex& v, std::vector<std::string>* rel) {
    return v.AbortUpload(bucket, key, upload_id, rel);
  });
}

Result<UploadListPage> RadosIndex::ListUploads(const BucketName& bucket, const UploadListQuery& q) {
  UploadListPage out;
  UploadListQuery cur = q;
  std::string from = std::max(q.prefix, q.key_marker);
  for (;;) {
    std::string hi;
    auto page = RunKey(bucket, from, [&](KvIndex& v, RadosTxn& txn) {
      auto r = v.ListUploads(bucket, cur);
      hi = Upper(txn.range());
      return r;
    });
    SLUICE_RETURN_IF_ERROR(page.status());
    for (auto& u : page->uploads) out.uploads.push_back(std::move(u));
    for (auto& c : page->common_prefixes)
      if (out.common_prefixes.empty() || out.common_prefixes.back() != c)
        out.common_prefixes.push_back(std::move(c));
    const size_t have = out.uploads.size() + out.common_prefixes.size();
    std::string last = out.uploads.empty() ? "" : out.uploads.back().key.str();
    if (!out.common_prefixes.empty()) last = std::max(last, out.common_prefixes.back());
    if (page->truncated) {
      out.truncated = true;
      out.next_key_marker = page->next_key_marker;
      out.next_upload_id_marker = page->next_upload_id_marker;
      return out;
    }
    if (PastPrefix(hi, q.prefix) || q.max_uploads == 0) return out;
    UploadListQuery next = cur;
    next.upload_id_marker.clear();
    if (!last.empty()) next.key_marker = std::max(cur.key_marker, last);
    if (have >= q.max_uploads) {
      next.max_uploads = 1;
      SLUICE_ASSIGN_OR_RETURN(
          bool more, AnyFrom(bucket, hi, q.prefix, [&](KvIndex& v) {
            auto p = v.ListUploads(bucket, next);
            if (!p.ok()) return Result<bool>(p.status());
            return Result<bool>(!p->uploads.empty() || !p->common_prefixes.empty());
          }));
      if (more) {
        out.truncated = true;
        out.next_key_marker = last;
        if (!out.uploads.empty() && out.uploads.back().key.str() == last)
          out.next_upload_id_marker = out.uploads.back().upload_id.str();
      }
      return out;
    }
    next.max_uploads = static_cast<uint32_t>(q.max_uploads - have);
    cur = next;
    from = hi;
  }
}

// ---- recovery and GC ----

Result<bool> RadosIndex::IsReferenced(const std::string& data_id, std::string_view owner) {
  auto o = DataOwner::Decode(owner);
  if (!o) return Error(Err::kInvalidArgument, "the RADOS index finds references by their owner");
  return RunKey(o->bucket, o->key.str(),
                [&](KvIndex& v, RadosTxn&) { return v.IsReferenced(data_id, owner); });
}

Result<std::vector<std::string>> RadosIndex::PendingGc(size_t max) {
  SLUICE_ASSIGN_OR_RETURN(auto buckets, ListedBuckets());
  std::vector<std::string> out;
  for (const auto& name : buckets) {
    if (out.size() >= max) break;
    SLUICE_RETURN_IF_ERROR(
        EachShard(BucketName::Trusted(name), [&](const std::string& oid) -> Status {
          if (out.size() >= max) return Status::Ok();
          SLUICE_ASSIGN_OR_RETURN(auto ids, Run(oid, [&](KvIndex& v, RadosTxn&) {
                                    return v.PendingGc(max - out.size());
                                  }));
          std::lock_guard l(gc_mu_);
          for (auto& id : ids) {
            gc_bucket_[id] = {name, oid, true};
            out.push_back(std::move(id));
          }
          return Status::Ok();
        }));
  }
  return out;
}

// The queue is kept per shard, in the order of its ids (a version's time first): the
// bucket's is their merge.
Result<std::vector<ReplicationTask>> RadosIndex::ListReplicationQueue(const BucketName& bucket,
                                                                      const std::string& after,
                                                                      size_t max) {
  // A shard fenced by a split (moved) holds the only current copy of its upper half's
  // records until the map names the new shard: the listing waits for that, as a keyed call
  // does.
  for (int attempt = 0; attempt < kMaxAttempts * 4; attempt++) {
    std::vector<ReplicationTask> all;
    bool fenced = false;
    SLUICE_RETURN_IF_ERROR(EachShard(bucket, [&](const std::string& oid) -> Status {
      SLUICE_ASSIGN_OR_RETURN(auto some, Run(oid, [&](KvIndex& v, RadosTxn& txn) {
                                auto r = v.ListReplicationQueue(bucket, after, max);
                                fenced |= txn.range().state == shards::Range::State::kMoved;
                                if (r.ok()) {
                                  // Copies a split moved away, not deleted yet, are not this
                                  // shard's.
                                  auto& t = *r;
                                  t.erase(std::remove_if(t.begin(), t.end(),
                                                         [&](const ReplicationTask& x) {
                                                           return !txn.range().Serves(x.key.str());
                                                         }),
                                          t.end());
                                }
                                return r;
                              }));
      for (auto& t : some) all.push_back(std::move(t));
      return Status::Ok();
    }));
    if (fenced) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    std::sort(all.begin(), all.end(),
              [](const ReplicationTask& x, const ReplicationTask& y) { return x.id < y.id; });
    if (all.size() > max) all.resize(max);
    return all;
  }
  return Status(Err::kSlowDown, "bucket " + bucket.str() + " is being re-sharded; retry", true);
}

Status RadosIndex::FinishReplication(const BucketName& bucket, const ReplicationTask& task,
                                     const std::string& status) {
  return RunKey(bucket, task.key.str(),
                [&](KvIndex& v, RadosTxn&) { return v.FinishReplication(bucket, task, status); });
}

Status RadosIndex::QueueReplication(const BucketName& bucket, const ObjectKey& key,
                                    const VersionId& version) {
  return RunKey(bucket, key.str(),
                [&](KvIndex& v, RadosTxn&) { return v.QueueReplication(bucket, key, version); });
}

Status RadosIndex::GcDone(const std::vector<std::string>& data_ids) {
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> by_shard;
  std::set<std::string> swept;  // buckets PendingGc drained: perhaps deleted ones
  {
    std::lock_guard l(gc_mu_);
    for (const auto& id : data_ids) {
      auto it = gc_bucket_.find(id);
      if (it == gc_bucket_.end()) continue;  // unknown here: it stays queued for PendingGc
      by_shard[{it->second.bucket, it->second.oid}].push_back(id);
      if (it->second.swept) swept.insert(it->second.bucket);
      gc_bucket_.erase(it);
    }
  }
  for (const auto& entry : by_shard) {
    const auto& ids = entry.second;  // captured below: not a binding, for clang 14
    SLUICE_RETURN_IF_ERROR(
        Run(entry.first.second, [&](KvIndex& v, RadosTxn&) { return v.GcDone(ids); }));
  }
  for (const auto& bucket : swept) {
    if (Status u = UnlistBucketIfGone(BucketName::Trusted(bucket)); !u.ok())
      spdlog::warn("unlisting deleted bucket {}: {}", bucket, u.ToString());
  }
  return Status::Ok();
}

}  // namespace sluice::meta
