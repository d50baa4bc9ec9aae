// The read-through cache (`sluice server --cache-of URL`, docs/cache.md): objects of
// another S3 endpoint (s3/origin.h) kept as ordinary objects of this server's own store,
// in buckets of the same names, up to a byte budget, least recently used first out.
//
// A GET or HEAD asks the origin for the object's current ETag (at most once every
// `revalidate_after`): the same ETag serves the local copy; another, or none held, fills
// it. One fill per object at a time: it streams the origin's bytes once into new data of
// the local store, and every request for the object meanwhile (the first included) is
// served from those bytes as they land, each waiting only for the bytes it sends next.
// The filled copy is published in the index under the origin's ETag, metadata and
// modification time, so clients see the origin's object. An object larger than the whole
// budget is streamed through the same way and not kept. When the origin cannot be reached,
// a copy held is served as it is (stale rather than nothing); when it says the object is
// gone, the copy is dropped.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/async.h"
#include "s3/context.h"
#include "s3/origin.h"

namespace sluice::s3 {

struct CacheOptions {
  uint64_t capacity = 10ULL << 30;  // bytes of object data kept
  // How long an ETag the origin confirmed is trusted without asking again (0: every
  // request asks).
  int64_t revalidate_after_micros = 0;
  int fill_threads = 4;  // fills streaming from the origin at once
};

// One object streaming in from the origin. Shared by the fill thread and the requests
// served from it.
class CacheFill {
 public:
  const BucketName bucket;
  const ObjectKey key;
  const OriginObject object;
  const bool keep;  // published and kept; false: streamed through (larger than the budget)

  CacheFill(BucketName b, ObjectKey k, OriginObject o, bool keep_it)
      : bucket(std::move(b)), key(std::move(k)), object(std::move(o)), keep(keep_it) {}

  struct Progress {
    uint64_t written = 0;
    bool done = false;
    Status status;        // the fill's outcome once done
    std::string data_id;  // set before the first byte lands
  };
  Progress Snapshot() const {
    std::lock_guard l(mu_);
    return {written_, done_, status_, data_id_};
  }
  // Resumes the caller once `want` bytes have landed or the fill has ended.
  Task<void> WaitFor(uint64_t want, boost::asio::thread_pool& pool);

 private:
  friend class ReadCache;
  void SetDataId(std::string id);
  void Advance(uint64_t written);
  void Finish(Status st);

  mutable std::mutex mu_;
  uint64_t written_ = 0;
  bool done_ = false;
  Status status_;
  std::string data_id_;
  std::vector<std::pair<uint64_t, std::function<void()>>> waiters_;
  // Held until the last reader lets go when the data is not kept (its file goes with it).
  std::unique_ptr<storage::DataWriter> through_;
  uint64_t last_use_ = 0;  // ReadCache's tick of the last request served from it (its mu_)
};

class ReadCache {
 public:
  ReadCache(const Services& svc, Origin* origin, CacheOptions opts);
  ~ReadCache();  // waits for the fills in flight
  ReadCache(const ReadCache&) = delete;
  ReadCache& operator=(const ReadCache&) = delete;

  Origin& origin() { return *origin_; }

  // Reads what the local store holds (after a restart), oldest first into the LRU order;
  // each copy is revalidated on its first read. Blocking.
  Status Load();

  // The bucket exists locally, created when the origin has it (kNoSuchBucket otherwise).
  Task<Status> EnsureBucket(const BucketName& bucket, const std::string& owner);

  // Where a GET or HEAD of the latest version of bucket/key is served from: the local
  // copy (null), or a fill in flight. kNoSuchKey when the origin has no such object;
  // the origin's error when it cannot say and no copy is held.
  Task<Result<std::shared_ptr<CacheFill>>> Resolve(const BucketName& bucket, const ObjectKey& key);

  // The local store has no copy of bucket/key though the books say it is held (evicted
  // under a request that had just found it): forgotten, so the next Resolve fills it.
  void Lost(const BucketName& bucket, const ObjectKey& key);

  struct Stats {
    uint64_t used = 0;     // bytes kept and reserved by fills
    uint64_t objects = 0;  // copies kept
    uint64_t hits = 0, revalidated = 0, fills = 0, joined = 0, evicted = 0, stale = 0;
    uint64_t origin_bytes = 0;  // bytes read from the origin
  };
  Stats stats() const;

 private:
  struct Entry {
    BucketName bucket;
    ObjectKey key;
    uint64_t size = 0;
    std::string etag;
    int64_t validated_micros = 0;  // 0: never since start
    std::list<std::string>::iterator lru;
    uint64_t used = 0;  // tick_ of its last use; the LRU list is in this order
  };
  void TouchLocked(Entry& e);  // under mu_: used now
  static std::string Name(const BucketName& b, const ObjectKey& k);
  using Victims = std::vector<std::pair<BucketName, ObjectKey>>;
  // Under mu_: drops `name`'s entry from the books (its data stays until deleted), adding
  // it to `victims` when given.
  void ForgetLocked(const std::string& name, Victims* victims = nullptr);
  // Under mu_: entries to evict so that `size` more bytes fit (fewer while fills are in
  // flight: see the .cc); false when `size` exceeds the whole budget.
  bool MakeRoomLocked(uint64_t size, Victims* victims);
  void Evict(const Victims& victims);                    // blocking: index deletes
  void RunFill(const std::shared_ptr<CacheFill>& fill);  // on a fill thread
  Status Publish(const CacheFill& fill, storage::DataWriter& writer);

  const Services& svc_;
  Origin* origin_;
  const CacheOptions opts_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // most recently used first
  std::unordered_map<std::string, std::shared_ptr<CacheFill>> fills_;
  uint64_t tick_ = 0;  // counts uses, to order the LRU list
  Stats stats_;
  boost::asio::thread_pool fill_pool_;
};

}  // namespace sluice::s3
