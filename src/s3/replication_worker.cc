#include "s3/replication_worker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <deque>
#include <set>
#include <thread>

#include "common/hash.h"
#include "common/strings.h"
#include "s3/object_io.h"
#include "s3/replication_target.h"
#include "s3/sse.h"

namespace sluice::s3 {
namespace {

constexpr size_t kPage = 1000;
constexpr int64_t kFirstBackoffMicros = 500'000;         // 0.5 s, doubled per attempt
constexpr int64_t kMaxBackoffMicros = 300'000'000;       // 5 min
constexpr int64_t kMaxTargetBackoffMicros = 30'000'000;  // a target down is probed this often
constexpr int64_t kConfigRereadMicros = 30'000'000;      // configs are also re-read on change
constexpr size_t kFailuresKept = 100;
constexpr int64_t kRateWindowMicros = 60'000'000;
// Bucket config holding the digest of the last configuration whose existing objects were
// queued (ExistingObjectReplication), so that each configuration does it once.
constexpr char kExistingDoneConfig[] = "replication-existing";

// What can never succeed as configured: the task ends FAILED (a resync requeues it).
bool Permanent(const Status& s) {
  switch (s.code()) {
    case Err::kNoSuchBucket:
    case Err::kAccessDenied:
    case Err::kObjectLocked:
    case Err::kReadOnlySnapshot:
    case Err::kInvalidBucketState:
    case Err::kCorruption:
    case Err::kBadDigest:
    case Err::kEntityTooLarge:
    case Err::kInvalidRequest:  // a remote target refuses what it will keep refusing
    case Err::kNotFound:        // the remote target is no longer registered
      return true;
    default:
      return false;
  }
}

std::string Describe(const Status& s) {
  return std::string(ErrName(s.code())) + ": " + std::string(s.message());
}

}  // namespace

ReplicationWorker::ReplicationWorker(const Services& svc, int parallel)
    : svc_(svc), parallel_(std::max(1, parallel)) {
  svc_.index->backend().Subscribe([this](const meta::Index::Change& c) {
    if (c.kind == meta::Index::Change::Kind::kBucket) configs_dirty_.store(true);
  });
}

Status ReplicationWorker::RefreshConfigs() {
  const int64_t now = svc_.clock->NowMicros();
  if (!configs_dirty_.exchange(false) && now - configs_read_micros_ < kConfigRereadMicros)
    return Status::Ok();
  meta::Index& index = svc_.index->backend();
  auto buckets = index.ListBuckets();
  if (!buckets.ok()) {
    configs_dirty_.store(true);
    return buckets.status();
  }
  std::map<std::string, std::shared_ptr<const ReplicationConfig>> configs;
  for (const auto& b : *buckets) {
    auto doc = index.GetBucketConfig(b.name, kReplicationConfig);
    if (!doc.ok()) {
      if (doc.status().code() == Err::kNotFound || doc.status().code() == Err::kNoSuchBucket)
        continue;
      configs_dirty_.store(true);
      return doc.status();
    }
    auto c = ParseReplication(*doc);
    if (!c.ok()) {  // stored only after validation: a failure here is corruption
      spdlog::error("bucket {}: stored replication configuration does not parse: {}", b.name.str(),
                    c.status().ToString());
      continue;
    }
    configs[b.name.str()] = std::make_shared<const ReplicationConfig>(std::move(c).value());
  }
  configs_ = std::move(configs);
  configs_read_micros_ = now;
  return Status::Ok();
}

void ReplicationWorker::BackfillExisting() {
  meta::Index& index = svc_.index->backend();
  for (const auto& [name, config] : configs_) {
    if (std::none_of(config->rules.begin(), config->rules.end(),
                     [](const ReplicationRule& r) { return r.enabled && r.existing_objects; }))
      continue;
    const BucketName bucket = BucketName::Trusted(name);
    const std::string digest = HexEncode(Sha256(RenderReplication(*config)));
    auto done = index.GetBucketConfig(bucket, kExistingDoneConfig);
    if (done.ok() && *done == digest) continue;
    auto n = Resync(bucket, true);
    if (!n.ok()) {
      spdlog::warn("bucket {}: queueing existing objects for replication: {}", name,
                   n.status().ToString());
      continue;
    }
    Status s = index.PutBucketConfig(bucket, kExistingDoneConfig, digest);
    if (!s.ok()) continue;
    spdlog::info("bucket {}: {} existing versions queued for replication ({} unversioned skipped)",
                 name, n->existing, n->skipped);
  }
}

Result<ResyncCounts> ReplicationWorker::Resync(const BucketName& bucket, bool existing) {
  meta::Index& index = svc_.index->backend();
  SLUICE_ASSIGN_OR_RETURN(auto doc, index.GetBucketConfig(bucket, kReplicationConfig));
  SLUICE_ASSIGN_OR_RETURN(ReplicationConfig config, ParseReplication(doc));
  ResyncCounts n;
  meta::VersionListQuery q;
  q.max_keys = 1000;
  for (;;) {
    SLUICE_ASSIGN_OR_RETURN(auto page, index.ListObjectVersions(bucket, q));
    for (const auto& e : page.entries) {
      const meta::ObjectMeta& m = e.meta;
      const bool failed = m.replication_status == meta::kReplicationFailed;
      bool take = failed;
      if (!take && existing && m.replication_status.empty()) {
        // What the rules would have queued had they been there when it was written.
        const ReplicationRule* rule =
            m.delete_marker ? config.MarkerRuleFor(e.key) : config.RuleFor(e.key, m.tags);
        take = rule && (!m.delete_marker || e.is_latest);
      }
      if (!take) continue;
      if (m.version.is_null()) {
        n.skipped++;
        continue;
      }
      Status s = index.QueueReplication(bucket, ObjectKey::Trusted(e.key), m.version);
      if (s.code() == Err::kNoSuchVersion) continue;  // deleted meanwhile
      SLUICE_RETURN_IF_ERROR(s);
      (failed ? n.failed : n.existing)++;
    }
    if (!page.truncated) break;
    q.key_marker = page.next_key_marker;
    q.version_id_marker = page.next_version_id_marker;
  }
  if (n.failed > 0) {
    std::lock_guard l(mu_);
    std::erase_if(failures_, [&](const ReplicationFailure& f) { return f.bucket == bucket.str(); });
  }
  return n;
}

Result<ReplicationBacklog> ReplicationWorker::Backlog(const BucketName& bucket) {
  meta::Index& index = svc_.index->backend();
  ReplicationBacklog b;
  std::string after;
  for (;;) {
    SLUICE_ASSIGN_OR_RETURN(auto page, index.ListReplicationQueue(bucket, after, kPage));
    for (const auto& t : page) {
      if (b.objects == 0) b.oldest_micros = static_cast<int64_t>(t.version.micros());
      if (b.objects < kBacklogSized) {
        auto m = index.GetObject(bucket, t.key, t.version);
        if (m.ok() && !m->delete_marker) b.bytes += m->size;
      } else {
        b.bytes_partial = true;
      }
      b.objects++;
    }
    if (page.size() < kPage) return b;
    after = page.back().id;
  }
}

std::vector<ReplicationFailure> ReplicationWorker::RecentFailures() const {
  std::lock_guard l(mu_);
  return {failures_.begin(), failures_.end()};
}

std::pair<double, double> ReplicationWorker::Throughput() const {
  std::lock_guard l(mu_);
  if (samples_.size() < 2) return {0, 0};
  const auto& [t0, c0, b0] = samples_.front();
  const auto& [t1, c1, b1] = samples_.back();
  const double secs = static_cast<double>(t1 - t0) / 1e6;
  if (secs <= 0) return {0, 0};
  return {static_cast<double>(c1 - c0) / secs, static_cast<double>(b1 - b0) / secs};
}

Result<ReplicationStats> ReplicationWorker::RunOnce() {
  SLUICE_RETURN_IF_ERROR(RefreshConfigs());
  BackfillExisting();
  ReplicationStats stats;
  for (const auto& [name, config] : configs_) {
    stats.buckets++;
    Status s = RunBucket(BucketName::Trusted(name), *config, &stats);
    if (!s.ok() && s.code() != Err::kNoSuchBucket) return s;
  }
  std::lock_guard l(mu_);
  totals_.completed += stats.completed;
  totals_.bytes += stats.bytes;
  totals_.failed += stats.failed;
  totals_.dropped += stats.dropped;
  totals_.buckets = stats.buckets;
  totals_.queued = stats.queued;
  totals_.retrying = stats.retrying;
  const int64_t now = svc_.clock->NowMicros();
  samples_.emplace_back(now, totals_.completed, totals_.bytes);
  while (samples_.size() > 2 && std::get<0>(samples_[1]) <= now - kRateWindowMicros)
    samples_.pop_front();
  return stats;
}

Status ReplicationWorker::RunBucket(const BucketName& bucket, const ReplicationConfig& config,
                                    ReplicationStats* stats) {
  std::string after;
  const int64_t now = svc_.clock->NowMicros();
  // Every rule of a configuration names the same destination.
  const ReplicationRule& first = config.rules.front();
  const std::string dest =
      first.dest_target.empty() ? "bucket:" + first.dest_bucket : "target:" + first.dest_target;
  // Keys with a task left queued in this pass: their later tasks, on later pages too, wait
  // (a marker must not overtake the version it hides, nor a version an older one).
  std::set<std::string> held_back;
  for (;;) {
    SLUICE_ASSIGN_OR_RETURN(auto page,
                            svc_.index->backend().ListReplicationQueue(bucket, after, kPage));
    if (page.empty()) return Status::Ok();
    after = page.back().id;
    stats->queued += page.size();
    // One chain per key, in queue order (the versions of a key oldest first).
    std::vector<std::vector<const meta::ReplicationTask*>> chains;
    std::map<std::string_view, size_t> chain_of;
    for (const auto& t : page) {
      auto [it, fresh] = chain_of.emplace(t.key.str(), chains.size());
      if (fresh) chains.emplace_back();
      chains[it->second].push_back(&t);
    }
    std::mutex mu;  // next, stats
    size_t next = 0;
    auto run = [&] {
      for (;;) {
        std::vector<const meta::ReplicationTask*>* chain;
        {
          std::lock_guard l(mu);
          if (next == chains.size()) return;
          chain = &chains[next++];
          if (held_back.count(chain->front()->key.str())) {
            stats->retrying++;
            continue;
          }
        }
        auto hold_back = [&](const meta::ReplicationTask* t) {
          std::lock_guard l(mu);
          held_back.insert(t->key.str());
        };
        for (const meta::ReplicationTask* t : *chain) {
          const std::string retry_key = bucket.str() + std::string(1, '\0') + t->id;
          {
            std::lock_guard l(mu_);
            auto r = retries_.find(retry_key);
            auto down = target_backoff_.find(dest);
            if ((r != retries_.end() && r->second.next_micros > now) ||
                (down != target_backoff_.end() &&
                 down->second.next_micros > svc_.clock->NowMicros())) {
              {
                std::lock_guard s(mu);
                stats->retrying++;
              }
              hold_back(t);
              break;  // this key waits; its later versions wait behind it
            }
          }
          Attempt a = Replicate(bucket, config, *t);
          {
            std::lock_guard l(mu_);
            if (a.outcome == Outcome::kRetry) {
              Retry& r = retries_[retry_key];
              r.attempts++;
              r.last_error = a.error;
              r.key = t->key.str();
              r.version = t->version.ToString();
              r.dest = dest;
              const int64_t backoff = std::min(
                  kMaxBackoffMicros, kFirstBackoffMicros << std::min<uint32_t>(r.attempts - 1, 20));
              // A target that is down holds back every task for it (below), not this one.
              r.next_micros = a.target_down ? 0 : svc_.clock->NowMicros() + backoff;
            } else {
              retries_.erase(retry_key);
            }
            if (a.target_down) {
              Retry& d = target_backoff_[dest];
              const int64_t at = svc_.clock->NowMicros();
              if (d.next_micros <= at) {  // this attempt was the probe: back off further
                d.attempts++;
                d.next_micros =
                    at + std::min(kMaxTargetBackoffMicros,
                                  kFirstBackoffMicros << std::min<uint32_t>(d.attempts - 1, 20));
              }
              d.last_error = a.error;
            } else if (a.outcome != Outcome::kRetry) {
              target_backoff_.erase(dest);
            }
          }
          std::lock_guard s(mu);
          switch (a.outcome) {
            case Outcome::kCompleted:
              stats->completed++;
              stats->bytes += a.bytes;
              break;
            case Outcome::kFailed:
              stats->failed++;
              break;
            case Outcome::kDropped:
              stats->dropped++;
              break;
            case Outcome::kRetry:
              stats->retrying++;
              break;
          }
          if (a.outcome == Outcome::kRetry) {
            held_back.insert(t->key.str());  // under mu (s)
            break;
          }
        }
      }
    };
    const int threads = static_cast<int>(std::min<size_t>(parallel_, chains.size()));
    std::vector<std::thread> pool;
    for (int i = 1; i < threads; i++) pool.emplace_back(run);
    run();
    for (auto& t : pool) t.join();
    if (page.size() < kPage) return Status::Ok();
  }
}

ReplicationWorker::Attempt ReplicationWorker::Replicate(const BucketName& bucket,
                                                        const ReplicationConfig& config,
                                                        const meta::ReplicationTask& task) {
  meta::Index& index = svc_.index->backend();
  auto finish = [&](Outcome o, const std::string& status, std::string error) -> Attempt {
    Status s = index.FinishReplication(bucket, task, status);
    if (!s.ok()) return {Outcome::kRetry, "ending the task: " + Describe(s)};
    if (o == Outcome::kFailed) {
      spdlog::warn("replication of {}/{} version {} FAILED: {}", bucket.str(), task.key.str(),
                   task.version.ToString(), error);
      std::lock_guard l(mu_);
      failures_.push_back(
          {bucket.str(), task.key.str(), task.version.ToString(), error, svc_.clock->NowMicros()});
      if (failures_.size() > kFailuresKept) failures_.pop_front();
    }
    return {o, std::move(error)};
  };
  auto got = index.GetObject(bucket, task.key, task.version);
  if (!got.ok()) {
    const Err code = got.status().code();
    if (code == Err::kNoSuchVersion || code == Err::kNoSuchKey)
      return finish(Outcome::kDropped, "", "");  // removed before it was copied
    return {Outcome::kRetry, "reading the source: " + Describe(got.status())};
  }
  const meta::ObjectMeta& m = *got;
  const ReplicationRule* rule = m.delete_marker ? config.MarkerRuleFor(task.key.str())
                                                : config.RuleFor(task.key.str(), m.tags);
  if (!rule && task.tags_only)  // its new tags took it out of the rules: the copy stands
    return finish(Outcome::kCompleted, meta::kReplicationCompleted, "");
  if (!rule)
    return finish(Outcome::kFailed, meta::kReplicationFailed,
                  "no enabled rule of the bucket's replication configuration selects it any more");
  Attempt a = Copy(bucket, *rule, task, m);
  if (a.outcome == Outcome::kCompleted) {
    Attempt f = finish(Outcome::kCompleted, meta::kReplicationCompleted, "");
    f.bytes = a.bytes;
    return f;
  }
  if (a.outcome == Outcome::kFailed)
    return finish(Outcome::kFailed, meta::kReplicationFailed, a.error);
  return a;
}

ReplicationWorker::Attempt ReplicationWorker::Copy(const BucketName& bucket,
                                                   const ReplicationRule& rule,
                                                   const meta::ReplicationTask& task,
                                                   const meta::ObjectMeta& m) {
  if (!rule.dest_target.empty()) return CopyRemote(bucket, rule, task, m);
  meta::Index& index = svc_.index->backend();
  const BucketName dest = BucketName::Trusted(rule.dest_bucket);
  auto failed = [&](const std::string& what, const Status& s) -> Attempt {
    return {Permanent(s) ? Outcome::kFailed : Outcome::kRetry,
            what + " " + dest.str() + "/" + task.key.str() + ": " + Describe(s)};
  };
  // Already there (a crash after the copy, before the task ended; or only its tags
  // changed): not written twice, its tags brought up to date.
  auto there = index.GetObject(dest, task.key, m.version);
  if (there.ok() && there->replication_status == meta::kReplicationReplica &&
      there->delete_marker == m.delete_marker && there->etag == m.etag) {
    if (!m.delete_marker && there->tags != m.tags) {
      Status s = index.SetObjectTags(dest, task.key, m.version, m.tags);
      if (!s.ok()) return failed("setting the tags of", s);
    }
    return {Outcome::kCompleted, "", task.tags_only || m.delete_marker ? 0 : m.size};
  }
  if (!there.ok() && there.status().code() != Err::kNoSuchVersion &&
      there.status().code() != Err::kNoSuchKey)
    return failed("checking", there.status());
  auto dest_info = index.GetBucket(dest);
  if (!dest_info.ok()) return failed("the destination bucket of", dest_info.status());
  if (dest_info->versioning != meta::Versioning::kEnabled)
    return {Outcome::kFailed,
            "the destination bucket " + dest.str() + " no longer has versioning enabled"};

  std::vector<std::string> released;
  if (m.delete_marker) {
    meta::DeleteRequest req{{}, m.version, m.mtime_micros, false};
    req.replica = true;
    auto r = index.DeleteObject(dest, task.key, req, &released);
    if (r.status().code() == Err::kAlreadyExists) return {Outcome::kCompleted, "", 0};
    Status settled = SettleWrite(svc_, kNoNewData, r.status(), std::move(released));
    if (!settled.ok()) return failed("writing the delete marker", settled);
    return {Outcome::kCompleted, "", 0};
  }
  const std::string owner = meta::DataOwner{dest, task.key, {}}.Encode();
  // An SSE-S3 source is decrypted and its replica encrypted under a key of its own; an SSE-C
  // source cannot be: the server never holds its key (docs/encryption.md).
  std::string src_key;
  std::optional<std::pair<SseRecord, std::string>> enc;
  if (!m.encryption.empty()) {
    auto key = ObjectKeyFor(m.encryption, SseRequest{}, svc_.sse_keys);
    if (!key.ok())
      return {Outcome::kFailed,
              "an SSE-C object is not replicated: the server never holds its key (" +
                  std::string(key.status().message()) + ")"};
    src_key = std::move(key).value();
    auto made = NewObjectKey(SseRequest{SseMode::kS3, "", ""}, svc_.sse_keys, svc_.random);
    if (!made.ok()) return failed("encrypting the copy for", made.status());
    enc.emplace(std::move(made).value());
  }
  auto stored = CopyDataBlocking(svc_, svc_.data->backend(), m, 0, m.size, true, owner, src_key,
                                 enc ? std::string_view(enc->second) : std::string_view());
  if (!stored.ok()) return failed("copying to", stored.status());
  meta::ObjectMeta out;
  std::vector<std::string> new_ids;
  AttachStored(*stored, m.mtime_micros, &out, &new_ids);
  // End to end: the bytes written are the bytes the source's ETag names (its MD5 for a
  // single-part object; a multipart ETag is a digest of part digests, so the size is what
  // can be checked there, and the store checks its own segments).
  const bool multipart = m.etag.find('-') != std::string::npos;
  if (out.size != m.size || (!multipart && out.etag != m.etag)) {
    Status bad(Err::kBadDigest, "copied " + std::to_string(out.size) + " bytes with MD5 " +
                                    out.etag + ", the source has " + std::to_string(m.size) +
                                    " with ETag " + m.etag);
    (void)SettleWrite(svc_, new_ids, bad, {});
    return failed("verifying the copy to", bad);
  }
  out.etag = m.etag;
  out.content_type = m.content_type;
  out.headers = m.headers;
  out.tags = m.tags;
  out.acl = m.acl;
  out.checksum_algo = m.checksum_algo;
  out.checksum_value = m.checksum_value;
  out.checksum_type = m.checksum_type;
  out.version = m.version;  // kept, unless the destination already has a newer version of the key
  out.replication_status = meta::kReplicationReplica;
  if (enc) out.encryption = enc->first.Encode();
  const meta::WriteCondition unconditional;
  auto written = index.PutObject(dest, task.key, out, unconditional, &released);
  Status settled = SettleWrite(svc_, new_ids, written.status(), std::move(released));
  if (settled.code() == Err::kAlreadyExists) return {Outcome::kCompleted, "", 0};  // raced a copy
  if (!settled.ok()) return failed("writing", settled);
  return {Outcome::kCompleted, "", m.size};
}

ReplicationWorker::Attempt ReplicationWorker::CopyRemote(const BucketName& bucket,
                                                         const ReplicationRule& rule,
                                                         const meta::ReplicationTask& task,
                                                         const meta::ObjectMeta& m) {
  const std::string where =
      std::string(kReplicationTargetArn) + rule.dest_target + " (" + task.key.str() + ")";
  auto failed = [&](const std::string& what, const Status& s) -> Attempt {
    const bool permanent = Permanent(s);
    return {permanent ? Outcome::kFailed : Outcome::kRetry, what + " " + where + ": " + Describe(s),
            0, !permanent && (s.code() == Err::kServiceUnavailable || s.code() == Err::kSlowDown)};
  };
  if (!svc_.replication_targets)
    return {Outcome::kFailed, "this server offers no remote replication targets"};
  auto target = svc_.replication_targets->Find(rule.dest_target);
  if (!target.ok()) return failed("finding the target", target.status());
  if (task.tags_only && !m.delete_marker) {  // only the tags changed since the copy
    auto set = (*target)->SetTags(task.key, m);
    if (!set.ok()) return failed("setting the tags on", set.status());
    if (*set) return {Outcome::kCompleted, "", 0};
    // The copy is not there (removed on the target): send the version whole.
  }
  auto holds = (*target)->Holds(task.key, m);
  if (!holds.ok()) return failed("checking", holds.status());
  if (*holds) return {Outcome::kCompleted, "", m.delete_marker ? 0 : m.size};
  if (m.delete_marker) {
    Status s = (*target)->WriteMarker(task.key, m);
    if (!s.ok()) return failed("writing the delete marker to", s);
    return {Outcome::kCompleted, "", 0};
  }
  // The source's bytes, read where the target asks (it goes part by part, in order):
  // decrypted, for an SSE-S3 source; an SSE-C one cannot be (the server never holds its key).
  std::string src_key;
  if (!m.encryption.empty()) {
    auto key = ObjectKeyFor(m.encryption, SseRequest{}, svc_.sse_keys);
    if (!key.ok())
      return {Outcome::kFailed,
              "an SSE-C object is not replicated: the server never holds its key (" +
                  std::string(key.status().message()) + ")"};
    src_key = std::move(key).value();
  }
  storage::DataStore& data = svc_.data->backend();
  std::unique_ptr<storage::DataReader> open;
  size_t open_index = SIZE_MAX;
  ReplicaReader read = [&](uint64_t offset, char* buf, size_t n, size_t* got) -> Status {
    *got = 0;
    if (offset >= m.size || n == 0) return Status::Ok();
    n = static_cast<size_t>(std::min<uint64_t>(n, m.size - offset));
    if (m.segments.empty()) {
      std::memcpy(buf, m.inline_data.data() + offset, n);
      *got = n;
      return Status::Ok();
    }
    uint64_t start = 0;
    for (size_t i = 0; i < m.segments.size(); i++) {
      const meta::Segment& seg = m.segments[i];
      if (offset < start + seg.size) {
        if (open_index != i) {
          auto opened = data.Open(seg.data_id);
          if (!opened.ok()) return DataOpenFailed(opened.status(), seg.data_id);
          open = std::move(opened).value();
          if (!src_key.empty())
            open = DecryptingReader(std::move(open), src_key, seg.data_id, nullptr);
          open_index = i;
        }
        const uint64_t pos = offset - start;
        SLUICE_RETURN_IF_ERROR(
            open->Read(pos, buf, static_cast<size_t>(std::min<uint64_t>(n, seg.size - pos)), got));
        if (*got == 0) return Status(Err::kCorruption, "short read of " + seg.data_id);
        return Status::Ok();
      }
      start += seg.size;
    }
    return Status::Ok();
  };
  Status s = (*target)->Write(task.key, m, read);
  if (!s.ok()) return failed("writing to", s);
  (void)bucket;
  return {Outcome::kCompleted, "", m.size};
}

std::vector<ReplicationBacklogEntry> ReplicationWorker::Waiting() const {
  std::lock_guard l(mu_);
  std::vector<ReplicationBacklogEntry> out;
  for (const auto& [k, r] : retries_) {
    ReplicationBacklogEntry e;
    e.bucket = k.substr(0, k.find('\0'));
    e.key = r.key;
    e.version = r.version;
    e.last_error = r.last_error;
    e.attempts = r.attempts;
    e.next_attempt_micros = r.next_micros;
    if (auto d = target_backoff_.find(r.dest); d != target_backoff_.end())
      e.next_attempt_micros = std::max(e.next_attempt_micros, d->second.next_micros);
    out.push_back(std::move(e));
  }
  return out;
}

ReplicationStats ReplicationWorker::Totals() const {
  std::lock_guard l(mu_);
  return totals_;
}

}  // namespace sluice::s3
