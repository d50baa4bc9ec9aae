#include "s3/read_cache.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/post.hpp>

#include "s3/object_io.h"

namespace sluice::s3 {
// ---- CacheFill ----

Task<void> CacheFill::WaitFor(uint64_t want, boost::asio::thread_pool& pool) {
  {
    std::lock_guard l(mu_);
    if (done_ || written_ >= want) co_return;
  }
  CacheFill* self = this;  // kept alive by the caller's shared_ptr and the fill thread's
  co_await boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void()>(
      [self, want, p = &pool](auto handler) {
        // As Background::Wait: the handler is resumed through a post, never from here, and
        // nothing but this stack is touched once it is handed over.
        auto home = boost::asio::prefer(boost::asio::get_associated_executor(handler),
                                        boost::asio::execution::outstanding_work.tracked);
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        std::function<void()> resume = [home, h] { boost::asio::post(home, std::move(*h)); };
        std::unique_lock lk(self->mu_);
        if (!self->done_ && self->written_ < want) {
          self->waiters_.emplace_back(want, std::move(resume));
          return;
        }
        lk.unlock();
        boost::asio::post(*p, std::move(resume));
      },
      boost::asio::use_awaitable);
}

void CacheFill::SetDataId(std::string id) {
  std::lock_guard l(mu_);
  data_id_ = std::move(id);
}

void CacheFill::Advance(uint64_t written) {
  std::vector<std::function<void()>> wake;
  {
    std::lock_guard l(mu_);
    written_ = written;
    auto keep = std::partition(waiters_.begin(), waiters_.end(),
                               [&](const auto& w) { return w.first > written_; });
    for (auto it = keep; it != waiters_.end(); ++it) wake.push_back(std::move(it->second));
    waiters_.erase(keep, waiters_.end());
  }
  for (auto& w : wake) w();
}

void CacheFill::Finish(Status st) {
  std::vector<std::function<void()>> wake;
  {
    std::lock_guard l(mu_);
    done_ = true;
    status_ = std::move(st);
    for (auto& w : waiters_) wake.push_back(std::move(w.second));
    waiters_.clear();
  }
  for (auto& w : wake) w();
}

// ---- ReadCache ----

ReadCache::ReadCache(const Services& svc, Origin* origin, CacheOptions opts)
    : svc_(svc), origin_(origin), opts_(opts), fill_pool_(std::max(1, opts.fill_threads)) {}

ReadCache::~ReadCache() { fill_pool_.join(); }

std::string ReadCache::Name(const BucketName& b, const ObjectKey& k) {
  std::string n = b.str();
  n += '\0';
  n += k.str();
  return n;
}

ReadCache::Stats ReadCache::stats() const {
  std::lock_guard l(mu_);
  Stats s = stats_;
  s.objects = entries_.size();
  return s;
}

Status ReadCache::Load() {
  meta::Index& index = svc_.index->backend();
  SLUICE_ASSIGN_OR_RETURN(auto buckets, index.ListBuckets());
  struct Held {
    BucketName bucket;
    ObjectKey key;
    uint64_t size;
    std::string etag;
    int64_t mtime;
  };
  std::vector<Held> held;
  for (const auto& b : buckets) {
    meta::ListQuery q;
    for (;;) {
      SLUICE_ASSIGN_OR_RETURN(auto page, index.ListObjects(b.name, q));
      for (auto& e : page.objects) {
        auto key = ParseObjectKey(e.key);
        if (!key.ok()) continue;
        held.push_back({b.name, *key, e.meta.size, e.meta.etag, e.meta.mtime_micros});
      }
      if (!page.truncated) break;
      q.start_after = page.next_marker;
    }
  }
  // Newest first: the order of last use is not kept across a restart, so the objects'
  // own modification times stand in for it.
  std::sort(held.begin(), held.end(),
            [](const Held& a, const Held& b) { return a.mtime > b.mtime; });
  Victims victims;
  {
    std::lock_guard l(mu_);
    for (auto& h : held) {
      std::string name = Name(h.bucket, h.key);
      if (entries_.count(name)) continue;
      lru_.push_back(name);
      Entry e{h.bucket, h.key, h.size, h.etag, 0, std::prev(lru_.end()), 0};
      stats_.used += h.size;
      entries_.emplace(std::move(name), std::move(e));
    }
    // A smaller budget than last time: the oldest go now.
    MakeRoomLocked(0, &victims);
  }
  Evict(victims);
  return Status::Ok();
}

Task<Status> ReadCache::EnsureBucket(const BucketName& bucket, const std::string& owner) {
  auto info = co_await svc_.index->GetBucket(bucket);
  if (info.ok()) co_return Status::Ok();
  if (info.status().code() != Err::kNoSuchBucket) co_return info.status();
  Origin* origin = origin_;
  SLUICE_CO_ASSIGN_OR_RETURN(bool there, co_await Offload(*svc_.blocking, [origin, &bucket] {
                               return origin->HasBucket(bucket);
                             }));
  if (!there) co_return Error(Err::kNoSuchBucket, "The specified bucket does not exist");
  meta::BucketInfo b;
  b.name = bucket;
  b.created_micros = svc_.clock->NowMicros();
  b.owner = owner;
  b.region = svc_.region;
  Status st = co_await svc_.index->CreateBucket(b);
  if (st.code() == Err::kBucketAlreadyOwnedByYou || st.code() == Err::kBucketAlreadyExists)
    co_return Status::Ok();  // another request made it first
  co_return st;
}

bool ReadCache::MakeRoomLocked(uint64_t size, Victims* victims) {
  if (size > opts_.capacity) return false;
  // A fill in flight is not in the LRU list yet, though its object may have been used less
  // recently than what is: nothing used after the oldest fill in flight goes for it. The
  // budget is then exceeded until that fill ends and makes room in the right order.
  uint64_t oldest_fill = UINT64_MAX;
  for (const auto& [name, f] : fills_) oldest_fill = std::min(oldest_fill, f->last_use_);
  while (stats_.used + size > opts_.capacity && !lru_.empty()) {
    if (entries_.at(lru_.back()).used > oldest_fill) break;
    std::string name = lru_.back();
    ForgetLocked(name, victims);
    stats_.evicted++;
  }
  return true;
}

void ReadCache::ForgetLocked(const std::string& name, Victims* victims) {
  auto it = entries_.find(name);
  if (it == entries_.end()) return;
  if (victims) victims->emplace_back(it->second.bucket, it->second.key);
  stats_.used -= it->second.size;
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

void ReadCache::Evict(const Victims& victims) {
  meta::Index& index = svc_.index->backend();
  for (const auto& [bucket, key] : victims) {
    {
      // Read again (and being filled, or held anew) since it was chosen: not a victim now.
      std::lock_guard l(mu_);
      const std::string name = Name(bucket, key);
      if (entries_.count(name) || fills_.count(name)) continue;
    }
    meta::DeleteRequest req;
    req.now_micros = svc_.clock->NowMicros();
    std::vector<std::string> released;
    auto done = index.DeleteObject(bucket, key, req, &released);
    Status st = SettleWrite(svc_, kNoNewData, done.status(), std::move(released));
    if (!st.ok()) spdlog::warn("cache: evicting {}/{}: {}", bucket.str(), key.str(), st.ToString());
  }
}

void ReadCache::TouchLocked(Entry& e) {
  e.used = ++tick_;
  lru_.splice(lru_.begin(), lru_, e.lru);
}

void ReadCache::Lost(const BucketName& bucket, const ObjectKey& key) {
  std::lock_guard l(mu_);
  ForgetLocked(Name(bucket, key));
}

Task<Result<std::shared_ptr<CacheFill>>> ReadCache::Resolve(const BucketName& bucket,
                                                            const ObjectKey& key) {
  const std::string name = Name(bucket, key);
  {
    std::lock_guard l(mu_);
    if (auto it = entries_.find(name); it != entries_.end()) {
      const Entry& e = it->second;
      const int64_t now = svc_.clock->NowMicros();
      if (e.validated_micros > 0 && now - e.validated_micros < opts_.revalidate_after_micros) {
        TouchLocked(it->second);
        stats_.hits++;
        co_return std::shared_ptr<CacheFill>();
      }
    }
  }
  // Every read asks the origin first, even one that could join a fill in flight: the object
  // may have changed or gone since that fill began, and a read that follows a delete must
  // not see the object.
  for (int attempt = 0;; ++attempt) {
    Origin* origin = origin_;
    Result<OriginObject> head = co_await Offload(
        *svc_.blocking, [origin, &bucket, &key] { return origin->Head(bucket, key); });

    std::shared_ptr<CacheFill> fill, older;
    bool started = false;
    Victims victims;
    {
      std::lock_guard l(mu_);
      auto it = entries_.find(name);
      auto in_flight = fills_.find(name);
      if (!head.ok()) {
        const Err code = head.status().code();
        if (code == Err::kNoSuchKey || code == Err::kNoSuchBucket) {
          if (it != entries_.end())
            ForgetLocked(name, &victims);  // gone at the origin: so is the copy
        } else if (it != entries_.end()) {
          // The origin cannot say: serve what is held rather than nothing.
          TouchLocked(it->second);
          stats_.stale++;
          spdlog::warn("cache: serving {}/{} unconfirmed: the origin {}: {}", bucket.str(),
                       key.str(), origin_->endpoint(), head.status().ToString());
          co_return std::shared_ptr<CacheFill>();
        }
      } else if (it != entries_.end() && it->second.etag == head->etag) {
        it->second.validated_micros = svc_.clock->NowMicros();
        TouchLocked(it->second);
        stats_.revalidated++;
        co_return std::shared_ptr<CacheFill>();
      } else if (in_flight != fills_.end() && in_flight->second->object.etag == head->etag) {
        stats_.joined++;  // the version being filled: served as it lands
        in_flight->second->last_use_ = ++tick_;
        co_return in_flight->second;
      } else if (in_flight != fills_.end()) {
        older = in_flight->second;  // an older version is being filled: after it, again
      } else {
        // Not held, or changed at the origin: fill it.
        if (it != entries_.end()) ForgetLocked(name);  // the new copy replaces the old
        const bool keep = MakeRoomLocked(head->size, &victims);
        if (keep) stats_.used += head->size;  // reserved until the fill ends
        fill = std::make_shared<CacheFill>(bucket, key, *head, keep);
        fill->last_use_ = ++tick_;
        fills_.emplace(name, fill);
        stats_.fills++;
        started = true;
      }
    }
    if (!victims.empty()) {
      // By reference: GCC 12 destroyed a vector moved into a lambda inside co_await twice.
      co_await Offload(*svc_.blocking, [this, &victims] { Evict(victims); });
    }
    if (!head.ok()) co_return head.status();
    if (started) {
      boost::asio::post(fill_pool_, [this, fill] { RunFill(fill); });
      co_return fill;
    }
    if (attempt >= 3)
      co_return Status(Err::kServiceUnavailable,
                       "the object keeps changing at the origin while it is being cached");
    co_await older->WaitFor(UINT64_MAX, *svc_.blocking);
  }
}

void ReadCache::RunFill(const std::shared_ptr<CacheFill>& fill) {
  storage::DataStore& data = svc_.data->backend();
  const std::string name = Name(fill->bucket, fill->key);
  const uint64_t size = fill->object.size;
  Status st = Status::Ok();
  Victims over;  // deleted once the books are settled
  std::unique_ptr<storage::DataWriter> writer;
  // Written buffered (no size hint): what Append returns is in the page cache, where the
  // requests served from this fill read it at once.
  auto created = data.Create(0, "");
  if (!created.ok()) {
    st = created.status();
  } else {
    writer = std::move(created).value();
    fill->SetDataId(writer->id());
    uint64_t written = 0;
    st = origin_->Get(fill->bucket, fill->key, fill->object.etag,
                      [&](const char* p, size_t n, uint64_t offset) -> Status {
                        if (offset + n <= written) return Status::Ok();  // sent again after a retry
                        if (offset > written)
                          return Status(Err::kInternal, "the origin skipped bytes");
                        const uint64_t skip = written - offset;
                        if (written + (n - skip) > size)
                          return Status(Err::kServiceUnavailable,
                                        "the origin sent more bytes than its HEAD said");
                        SLUICE_RETURN_IF_ERROR(writer->Append(p + skip, n - skip));
                        written += n - skip;
                        {
                          std::lock_guard l(mu_);
                          stats_.origin_bytes += n - skip;
                        }
                        fill->Advance(written);
                        return Status::Ok();
                      });
    if (st.ok() && written != size)
      st = Status(Err::kServiceUnavailable, "the origin sent " + std::to_string(written) +
                                                " bytes of " + std::to_string(size));
    if (st.ok() && fill->keep) st = writer->Commit();
    if (st.ok() && fill->keep) st = Publish(*fill, *writer);
  }
  {
    std::lock_guard l(mu_);
    fills_.erase(name);
    if (fill->keep) {
      stats_.used -= size;  // the reservation; an entry takes it over below
      if (st.ok()) {
        ForgetLocked(name);
        // Placed by its last use, not by when its fill ended: a request that joined this
        // fill after another object's fill began made this object the more recent one.
        auto pos = lru_.begin();
        while (pos != lru_.end() && entries_.at(*pos).used > fill->last_use_) ++pos;
        pos = lru_.insert(pos, name);
        entries_[name] =
            Entry{fill->bucket, fill->key,      size, fill->object.etag, svc_.clock->NowMicros(),
                  pos,          fill->last_use_};
        stats_.used += size;
      }
    }
    MakeRoomLocked(0, &over);  // what waited for this fill to end
  }
  if (!st.ok()) {
    spdlog::warn("cache: filling {}/{} from {}: {}", fill->bucket.str(), fill->key.str(),
                 origin_->endpoint(), st.ToString());
  } else if (!fill->keep) {
    fill->through_ = std::move(writer);  // its file lives as long as a reader needs it
  }
  // Nothing new was kept: an older copy this fill was to replace (forgotten when the origin
  // said it changed) goes now, rather than sitting outside the books until a restart.
  if (!st.ok() || !fill->keep) over.emplace_back(fill->bucket, fill->key);
  Evict(over);
  fill->Finish(st);
}

Status ReadCache::Publish(const CacheFill& fill, storage::DataWriter& writer) {
  meta::ObjectMeta m;
  m.size = fill.object.size;
  m.etag = fill.object.etag;
  m.mtime_micros = fill.object.mtime_micros ? fill.object.mtime_micros : svc_.clock->NowMicros();
  m.content_type = fill.object.content_type;
  m.headers = fill.object.headers;
  m.segments.push_back({writer.id(), m.size, ""});
  std::vector<std::string> released;
  auto put =
      svc_.index->backend().PutObject(fill.bucket, fill.key, m, meta::WriteCondition{}, &released);
  return SettleWrite(svc_, {writer.id()}, put.status(), std::move(released));
}

}  // namespace sluice::s3
