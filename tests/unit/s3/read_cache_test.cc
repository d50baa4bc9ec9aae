// The read-through cache's books (s3/read_cache.h) on in-memory stores, a manual clock and
// a fake origin: one fill per object however many requests join it, copies published
// under the origin's ETag and metadata, revalidation by ETag (and not within the trusted
// window), a copy dropped when the origin drops the object, least recently used out first,
// too-large objects streamed through and not kept, and what is held served while the
// origin is down.
#include "s3/read_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>

#include "common/hash.h"
#include "common/strings.h"
#include "io/env.h"
#include "meta/kv/kv_index.h"
#include "meta/kv/mem_kv.h"
#include "storage/mem/mem_data_store.h"
#include "testutil/names.h"

namespace sluice::s3 {
namespace {

using namespace sluice::testing_names;  // NOLINT

class FakeOrigin final : public Origin {
 public:
  const std::string& endpoint() const override { return endpoint_; }
  Result<OriginObject> Head(const BucketName& b, const ObjectKey& k) override {
    std::lock_guard l(mu_);
    heads++;
    if (down) return Status(Err::kServiceUnavailable, "down");
    auto it = objects_.find(k.str());
    if (b.str() != "b" || it == objects_.end()) return Status(Err::kNoSuchKey, "none");
    return it->second.first;
  }
  Result<bool> HasBucket(const BucketName& b) override { return b.str() == "b"; }
  Status Get(const BucketName& b, const ObjectKey& k, const std::string& etag,
             const Sink& sink) override {
    std::string bytes;
    {
      std::unique_lock l(mu_);
      gets++;
      if (fail_gets) return Status(Err::kServiceUnavailable, "reset mid-way");
      auto it = objects_.find(k.str());
      if (b.str() != "b" || it == objects_.end()) return Status(Err::kNoSuchKey, "none");
      if (it->second.first.etag != etag) return Status(Err::kPreconditionFailed, "changed");
      bytes = it->second.second;
      // Half the bytes, then wait until released (a fill held in flight).
      if (hold.count(k.str())) {
        l.unlock();
        SLUICE_RETURN_IF_ERROR(sink(bytes.data(), bytes.size() / 2, 0));
        l.lock();
        cv_.wait(l, [&] { return !hold.count(k.str()); });
        l.unlock();
        return sink(bytes.data() + bytes.size() / 2, bytes.size() - bytes.size() / 2,
                    bytes.size() / 2);
      }
    }
    // In two pieces, the first sent twice (a retry inside the client starts over).
    SLUICE_RETURN_IF_ERROR(sink(bytes.data(), bytes.size() / 3, 0));
    SLUICE_RETURN_IF_ERROR(sink(bytes.data(), bytes.size() / 3, 0));
    return sink(bytes.data() + bytes.size() / 3, bytes.size() - bytes.size() / 3, bytes.size() / 3);
  }
  Result<OriginAnswer> Forward(const std::string&, const std::string&,
                               const std::string&) override {
    return OriginAnswer{200, "application/xml", "<x/>"};
  }

  void Put(const std::string& key, const std::string& bytes) {
    std::lock_guard l(mu_);
    OriginObject o;
    o.etag = HexEncode(Md5(bytes));
    o.size = bytes.size();
    o.mtime_micros = 1'600'000'000'000'000;
    o.content_type = "application/x-test";
    o.headers = {{"x-amz-meta-run", "7"}};
    objects_[key] = {o, bytes};
  }
  void Remove(const std::string& key) {
    std::lock_guard l(mu_);
    objects_.erase(key);
  }
  void Release(const std::string& key) {
    {
      std::lock_guard l(mu_);
      hold.erase(key);
    }
    cv_.notify_all();
  }

  std::atomic<int> heads{0}, gets{0};
  bool down = false;
  bool fail_gets = false;
  std::set<std::string> hold;  // keys whose Get stops half-way until Release(key)

 private:
  std::string endpoint_ = "http://origin.test";
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::pair<OriginObject, std::string>> objects_;
};

class ReadCacheTest : public ::testing::Test {
 protected:
  ReadCacheTest() : index_(&kv_, false), clock_(1'700'000'000'000'000), pool_(2) {
    svc_.index = &async_index_;
    svc_.data = &async_data_;
    svc_.clock = &clock_;
    svc_.random = io::SystemRandom();
    svc_.blocking = &pool_;
  }
  ~ReadCacheTest() override {
    cache_.reset();
    pool_.join();
  }
  void Start(uint64_t capacity, int64_t revalidate_after = 0) {
    CacheOptions o;
    o.capacity = capacity;
    o.revalidate_after_micros = revalidate_after;
    cache_ = std::make_unique<ReadCache>(svc_, &origin_, o);
    ASSERT_TRUE(cache_->Load().ok());
  }

  // Runs a coroutine to its end on a fresh I/O context.
  template <typename T>
  T Run(Task<T> t) {
    boost::asio::io_context io;
    std::optional<T> out;
    boost::asio::co_spawn(
        io, [&]() -> Task<void> { out.emplace(co_await std::move(t)); }, boost::asio::detached);
    io.run();
    return std::move(*out);
  }
  // Waits for a fill to end as a request does (CacheFill::WaitFor), on a fresh I/O context.
  void WaitDone(const std::shared_ptr<CacheFill>& f) {
    boost::asio::io_context io;
    boost::asio::co_spawn(io, f->WaitFor(UINT64_MAX, pool_), boost::asio::detached);
    io.run();
  }
  Result<std::shared_ptr<CacheFill>> Resolve(const std::string& key) {
    EXPECT_TRUE(Run(cache_->EnsureBucket("b"_b, "owner")).ok());
    return Run(cache_->Resolve("b"_b, K(key)));
  }
  // Resolves, waits out a fill, and returns what the local store then holds.
  Result<meta::ObjectMeta> Read(const std::string& key) {
    auto r = Resolve(key);
    if (!r.ok()) return r.status();
    if (*r) WaitDone(*r);
    if (*r && !(*r)->Snapshot().status.ok()) return (*r)->Snapshot().status;
    return index_.GetObject("b"_b, K(key));
  }
  std::string Bytes(const meta::ObjectMeta& m) {
    std::string out;
    for (const auto& s : m.segments) {
      auto r = data_.Open(s.data_id);
      EXPECT_TRUE(r.ok());
      std::string buf(s.size, '\0');
      size_t got = 0;
      EXPECT_TRUE((*r)->Read(0, buf.data(), buf.size(), &got).ok());
      out += buf.substr(0, got);
    }
    return out;
  }
  bool Held(const std::string& key) { return index_.GetObject("b"_b, K(key)).ok(); }

  meta::MemKv kv_;
  meta::KvIndex index_;
  storage::MemDataStore data_;
  io::ManualClock clock_;
  boost::asio::thread_pool pool_;
  meta::AsyncIndex async_index_{&index_, &pool_};
  storage::AsyncDataStore async_data_{&data_, &pool_};
  Services svc_;
  FakeOrigin origin_;
  std::unique_ptr<ReadCache> cache_;
};

TEST_F(ReadCacheTest, FillsOnceAndPublishesTheOriginsObject) {
  Start(1 << 20);
  const std::string bytes(100'000, 'x');
  origin_.Put("m/w.bin", bytes);
  auto m = Read("m/w.bin");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(Bytes(*m), bytes);  // the first third sent twice is written once
  EXPECT_EQ(m->etag, HexEncode(Md5(bytes)));
  EXPECT_EQ(m->content_type, "application/x-test");
  EXPECT_EQ(m->mtime_micros, 1'600'000'000'000'000);
  EXPECT_EQ(m->headers, (meta::HeaderList{{"x-amz-meta-run", "7"}}));
  // Held and unchanged: the origin is asked for the ETag, never for the bytes again.
  auto again = Resolve("m/w.bin");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  EXPECT_EQ(origin_.gets, 1);
  EXPECT_EQ(origin_.heads, 2);
  EXPECT_EQ(cache_->stats().origin_bytes, bytes.size());
}

TEST_F(ReadCacheTest, RequestsDuringAFillJoinItAndWakeAsBytesLand) {
  Start(1 << 20);
  const std::string bytes(64'000, 'y');
  origin_.Put("k", bytes);
  origin_.hold = {"k"};
  auto first = Resolve("k");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(*first);
  std::vector<std::shared_ptr<CacheFill>> joined;
  for (int i = 0; i < 5; i++) {
    auto r = Resolve("k");
    ASSERT_TRUE(r.ok());
    joined.push_back(*r);
  }
  for (auto& j : joined) EXPECT_EQ(j, *first);
  // A request waiting for the whole object is resumed on its own I/O thread once the
  // rest lands; one waiting for the half already there goes on at once.
  boost::asio::io_context io;
  bool half = false, whole = false;
  boost::asio::co_spawn(
      io,
      [&]() -> Task<void> {
        co_await (*first)->WaitFor(bytes.size() / 2, pool_);
        half = true;
        co_await (*first)->WaitFor(bytes.size(), pool_);
        whole = true;
      },
      boost::asio::detached);
  for (int i = 0; i < 200 && !half; i++) io.run_for(std::chrono::milliseconds(5));
  EXPECT_TRUE(half);
  EXPECT_FALSE(whole);
  origin_.Release("k");
  io.run();
  EXPECT_TRUE(whole);
  WaitDone(*first);
  EXPECT_TRUE((*first)->Snapshot().status.ok());
  EXPECT_EQ((*first)->Snapshot().written, bytes.size());
  EXPECT_EQ(origin_.gets, 1);
  EXPECT_EQ(cache_->stats().joined, 5u);
}

TEST_F(ReadCacheTest, RevalidatesByEtagAndTrustsItWithinTheWindow) {
  Start(1 << 20, /*revalidate_after=*/10'000'000);
  origin_.Put("k", "one");
  ASSERT_TRUE(Read("k").ok());
  const int heads = origin_.heads;
  origin_.Put("k", "two!");  // changed, but within the window the copy is trusted
  auto r = Resolve("k");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);
  EXPECT_EQ(origin_.heads, heads);
  clock_.Advance(11'000'000);
  auto m = Read("k");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(Bytes(*m), "two!");
  EXPECT_EQ(origin_.gets, 2);
}

TEST_F(ReadCacheTest, DropsACopyTheOriginNoLongerHas) {
  Start(1 << 20);
  origin_.Put("k", "bytes");
  ASSERT_TRUE(Read("k").ok());
  origin_.Remove("k");
  EXPECT_EQ(Resolve("k").status().code(), Err::kNoSuchKey);
  EXPECT_FALSE(Held("k"));
  EXPECT_EQ(cache_->stats().objects, 0u);
  EXPECT_EQ(Resolve("never").status().code(), Err::kNoSuchKey);
}

TEST_F(ReadCacheTest, EvictsTheLeastRecentlyUsed) {
  Start(250);
  for (auto k : {"a", "b", "c"}) origin_.Put(k, std::string(100, k[0]));
  ASSERT_TRUE(Read("a").ok());
  ASSERT_TRUE(Read("b").ok());
  ASSERT_TRUE(Read("a").ok());  // a is now more recent than b
  ASSERT_TRUE(Read("c").ok());
  EXPECT_TRUE(Held("a"));
  EXPECT_FALSE(Held("b"));
  EXPECT_TRUE(Held("c"));
  EXPECT_EQ(cache_->stats().used, 200u);
  EXPECT_EQ(cache_->stats().evicted, 1u);
  // After a restart the books are read back, the budget still kept.
  cache_.reset();
  Start(150);
  EXPECT_EQ(cache_->stats().objects, 1u);
  EXPECT_LE(cache_->stats().used, 150u);
}

TEST_F(ReadCacheTest, AFillJoinedLaterCountsAsUsedThen) {
  // a's fill starts, then b's; a request joins a's fill; a's fill ends first. a was used
  // after b, so the room for c is made by evicting b, whatever order the fills ended in.
  Start(250);
  for (auto k : {"a", "b", "c"}) origin_.Put(k, std::string(100, k[0]));
  origin_.hold = {"a", "b"};
  auto a = Resolve("a");
  ASSERT_TRUE(a.ok() && *a);
  auto b = Resolve("b");
  ASSERT_TRUE(b.ok() && *b);
  auto joined = Resolve("a");
  ASSERT_TRUE(joined.ok());
  EXPECT_EQ(*joined, *a);
  origin_.Release("a");
  WaitDone(*a);
  origin_.Release("b");
  WaitDone(*b);
  ASSERT_TRUE(Read("c").ok());
  EXPECT_TRUE(Held("a"));
  EXPECT_FALSE(Held("b"));
  EXPECT_TRUE(Held("c"));
}

TEST_F(ReadCacheTest, ObjectsUsedAfterAFillInFlightOutliveIt) {
  // a is held and used again while b's fill is in flight; c then needs room. a was used
  // after b, so b goes, once its fill has ended (the budget is exceeded until then).
  Start(250);
  for (auto k : {"a", "b", "c"}) origin_.Put(k, std::string(100, k[0]));
  ASSERT_TRUE(Read("a").ok());
  origin_.hold = {"b"};
  auto b = Resolve("b");
  ASSERT_TRUE(b.ok() && *b);
  ASSERT_TRUE(Read("a").ok());
  auto c = Resolve("c");
  ASSERT_TRUE(c.ok() && *c);
  WaitDone(*c);
  EXPECT_TRUE(Held("a"));
  origin_.Release("b");
  WaitDone(*b);
  EXPECT_TRUE(Held("a"));
  EXPECT_FALSE(Held("b"));
  EXPECT_TRUE(Held("c"));
  EXPECT_EQ(cache_->stats().used, 200u);
}

TEST_F(ReadCacheTest, AnOldCopyGoesWhenItsReplacementIsNotKept) {
  // Changed at the origin, and the new version's fill fails: the old copy is not served
  // again (it is no longer the object) and does not linger outside the books.
  Start(1000);
  origin_.Put("k", "old");
  ASSERT_TRUE(Read("k").ok());
  origin_.Put("k", "new!");
  origin_.fail_gets = true;
  EXPECT_EQ(Read("k").status().code(), Err::kServiceUnavailable);
  EXPECT_FALSE(Held("k"));
  EXPECT_EQ(cache_->stats().used, 0u);
  // Changed into something larger than the budget: streamed through, the old copy gone.
  origin_.fail_gets = false;
  origin_.Put("j", "small");
  ASSERT_TRUE(Read("j").ok());
  origin_.Put("j", std::string(2000, 'L'));
  auto r = Resolve("j");
  ASSERT_TRUE(r.ok() && *r);
  WaitDone(*r);
  EXPECT_TRUE((*r)->Snapshot().status.ok());
  EXPECT_FALSE(Held("j"));
  EXPECT_EQ(cache_->stats().used, 0u);
}

TEST_F(ReadCacheTest, StreamsThroughWhatIsLargerThanTheBudget) {
  Start(100);
  origin_.Put("big", std::string(1000, 'z'));
  auto r = Resolve("big");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(*r);
  EXPECT_FALSE((*r)->keep);
  WaitDone(*r);
  EXPECT_TRUE((*r)->Snapshot().status.ok());
  EXPECT_EQ((*r)->Snapshot().written, 1000u);
  EXPECT_FALSE(Held("big"));
  EXPECT_EQ(cache_->stats().used, 0u);
}

TEST_F(ReadCacheTest, ServesWhatIsHeldWhileTheOriginIsDown) {
  Start(1 << 20);
  origin_.Put("k", "held");
  ASSERT_TRUE(Read("k").ok());
  origin_.down = true;
  auto r = Resolve("k");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r);  // the local copy
  EXPECT_EQ(cache_->stats().stale, 1u);
  origin_.Put("other", "x");
  EXPECT_EQ(Resolve("other").status().code(), Err::kServiceUnavailable);
}

}  // namespace
}  // namespace sluice::s3
