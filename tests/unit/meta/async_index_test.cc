// AsyncIndex: the one place that decides where an index call runs. A write of a backend
// whose writes block runs on the blocking pool; a read of one whose reads do not runs
// inline on the awaiting thread; and the awaiting coroutine resumes on its own thread.
#include "meta/api/async_index.h"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "meta/kv/kv_index.h"
#include "meta/kv/mem_kv.h"
#include "testutil/names.h"
#include "testutil/run_coroutine.h"

namespace sluice::meta {
namespace {

using sluice::testing_async::RunCoroutine;

using namespace sluice::testing_names;  // NOLINT

// A KvStore that notes the thread of every read and write.
class ThreadNotingKv final : public KvStore {
 public:
  Status Get(std::string_view key, std::string* value) override {
    Note(&read_threads_);
    return inner_.Get(key, value);
  }
  Status Write(const KvBatch& batch, bool sync) override {
    Note(&write_threads_);
    return inner_.Write(batch, false);
  }
  std::unique_ptr<KvIterator> NewIterator() override {
    Note(&read_threads_);
    return inner_.NewIterator();
  }
  std::vector<std::thread::id> reads() {
    std::lock_guard l(mu_);
    return read_threads_;
  }
  std::vector<std::thread::id> writes() {
    std::lock_guard l(mu_);
    return write_threads_;
  }
  void Clear() {
    std::lock_guard l(mu_);
    read_threads_.clear();
    write_threads_.clear();
  }

 private:
  void Note(std::vector<std::thread::id>* v) {
    std::lock_guard l(mu_);
    v->push_back(std::this_thread::get_id());
  }
  MemKv inner_;
  std::mutex mu_;
  std::vector<std::thread::id> read_threads_, write_threads_;
};

// No braced temporary (an aggregate's {...}) may appear in a co_await expression: GCC 12
// destroys it twice. Named values only, as in src/.
const BucketInfo info{BucketName::Trusted("b"), 1, "o", "us-east-1"};

TEST(AsyncIndex, SyncedWritesRunOnThePoolAndReadsInline) {
  ThreadNotingKv kv;
  KvIndex index(&kv, /*sync=*/true);  // declares {reads: inline, writes: block}
  boost::asio::thread_pool pool(2);
  AsyncIndex async(&index, &pool);
  const auto me = std::this_thread::get_id();
  RunCoroutine([&]() -> Task<void> {
    EXPECT_TRUE((co_await async.CreateBucket(info)).ok());
    EXPECT_EQ(std::this_thread::get_id(), me);  // resumed at home
    for (auto id : kv.writes()) EXPECT_NE(id, me);
    kv.Clear();
    meta::ObjectMeta m;
    m.size = 3;
    m.inline_data = "abc";
    m.etag = "e";
    std::vector<std::string> released;
    const WriteCondition none;
    EXPECT_TRUE((co_await async.PutObject("b"_b, "k"_k, m, none, &released)).ok());
    EXPECT_EQ(std::this_thread::get_id(), me);
    EXPECT_FALSE(kv.writes().empty());
    for (auto id : kv.writes()) EXPECT_NE(id, me);
    kv.Clear();
    auto got = co_await async.GetObject("b"_b, "k"_k);
    EXPECT_TRUE(got.ok() && got->inline_data == "abc");
    EXPECT_FALSE(kv.reads().empty());
    for (auto id : kv.reads()) EXPECT_EQ(id, me);
    const ListQuery all;
    auto page = co_await async.ListObjects("b"_b, all);
    EXPECT_TRUE(page.ok() && page->objects.size() == 1u);
    for (auto id : kv.reads()) EXPECT_EQ(id, me);
  });
  pool.join();
}

TEST(AsyncIndex, UnsyncedWritesRunInline) {
  ThreadNotingKv kv;
  KvIndex index(&kv, /*sync=*/false);  // nothing blocks
  boost::asio::thread_pool pool(1);
  AsyncIndex async(&index, &pool);
  const auto me = std::this_thread::get_id();
  RunCoroutine([&]() -> Task<void> {
    EXPECT_TRUE((co_await async.CreateBucket(info)).ok());
    EXPECT_FALSE(kv.writes().empty());
    for (auto id : kv.writes()) EXPECT_EQ(id, me);
  });
  pool.join();
}

// A backend that declares nothing (the default: everything blocks) never runs on the
// awaiting thread, reads included.
class BlockingByDefault final : public Index {
 public:
  explicit BlockingByDefault(Index* inner) : inner_(inner) {}
  Status CreateBucket(const BucketInfo& info) override { return inner_->CreateBucket(info); }
  Result<BucketInfo> GetBucket(const BucketName& name) override {
    thread_ = std::this_thread::get_id();
    return inner_->GetBucket(name);
  }
#define SLUICE_UNUSED_IN_TEST(...) \
  __VA_ARGS__ override { return Error(Err::kNotImplemented, "test"); }
  SLUICE_UNUSED_IN_TEST(Status DeleteBucket(const BucketName&))
  SLUICE_UNUSED_IN_TEST(Result<std::vector<BucketInfo>> ListBuckets())
  SLUICE_UNUSED_IN_TEST(Status SetBucketVersioning(const BucketName&, Versioning))
  SLUICE_UNUSED_IN_TEST(Status SetBucketObjectLock(const BucketName&, const ObjectLockConfig&))
  SLUICE_UNUSED_IN_TEST(Status CreateSnapshot(const BucketName&, const BucketName&, int64_t,
                                              const std::string&))
  SLUICE_UNUSED_IN_TEST(Status DeleteSnapshot(const BucketName&))
  SLUICE_UNUSED_IN_TEST(Result<ObjectMeta> GetObjectAsOf(const BucketName&, const ObjectKey&,
                                                         int64_t))
  SLUICE_UNUSED_IN_TEST(Status PutBucketConfig(const BucketName&, const std::string&,
                                               const std::string&))
  SLUICE_UNUSED_IN_TEST(Result<std::string> GetBucketConfig(const BucketName&, const std::string&))
  SLUICE_UNUSED_IN_TEST(Status DeleteBucketConfig(const BucketName&, const std::string&))
  SLUICE_UNUSED_IN_TEST(Status WriteDocs(const std::vector<DocWrite>&))
  SLUICE_UNUSED_IN_TEST(
      Result<std::vector<std::pair<std::string, std::string>>> ListDocs(const std::string&))
  SLUICE_UNUSED_IN_TEST(Result<ObjectMeta> GetObject(const BucketName&, const ObjectKey&,
                                                     const VersionId&))
  SLUICE_UNUSED_IN_TEST(Result<WriteResult> PutObject(const BucketName&, const ObjectKey&,
                                                      const ObjectMeta&, const WriteCondition&,
                                                      std::vector<std::string>*))
  SLUICE_UNUSED_IN_TEST(Status SetObjectTags(const BucketName&, const ObjectKey&, const VersionId&,
                                             const HeaderList&))
  SLUICE_UNUSED_IN_TEST(Status SetObjectAcl(const BucketName&, const ObjectKey&, const VersionId&,
                                            const std::string&))
  SLUICE_UNUSED_IN_TEST(Result<WriteResult> DeleteObject(const BucketName&, const ObjectKey&,
                                                         const DeleteRequest&,
                                                         std::vector<std::string>*))
  SLUICE_UNUSED_IN_TEST(Status SetObjectRetention(const BucketName&, const ObjectKey&,
                                                  const VersionId&, const Retention&, bool,
                                                  int64_t))
  SLUICE_UNUSED_IN_TEST(Status SetObjectLegalHold(const BucketName&, const ObjectKey&,
                                                  const VersionId&, bool))
  SLUICE_UNUSED_IN_TEST(Result<TarEntry> GetMember(const BucketName&, const ObjectKey&,
                                                   const std::string&, const std::string&))
  SLUICE_UNUSED_IN_TEST(Result<std::vector<TarEntry>> ListMembers(
      const BucketName&, const ObjectKey&, const std::string&, const std::string&, size_t))
  SLUICE_UNUSED_IN_TEST(Result<ListPage> ListObjects(const BucketName&, const ListQuery&))
  SLUICE_UNUSED_IN_TEST(Result<VersionListPage> ListObjectVersions(const BucketName&,
                                                                   const VersionListQuery&))
  SLUICE_UNUSED_IN_TEST(Status CreateUpload(const BucketName&, const UploadInfo&))
  SLUICE_UNUSED_IN_TEST(Result<UploadInfo> GetUpload(const BucketName&, const ObjectKey&,
                                                     const UploadId&))
  SLUICE_UNUSED_IN_TEST(Status PutPart(const BucketName&, const ObjectKey&, const UploadId&,
                                       const PartInfo&, std::vector<std::string>*))
  SLUICE_UNUSED_IN_TEST(Result<std::vector<PartInfo>> ListParts(const BucketName&, const ObjectKey&,
                                                                const UploadId&, uint32_t,
                                                                uint32_t))
  SLUICE_UNUSED_IN_TEST(Result<WriteResult> CompleteUpload(const BucketName&, const ObjectKey&,
                                                           const UploadId&, const ObjectMeta&,
                                                           const WriteCondition&,
                                                           std::vector<std::string>*))
  SLUICE_UNUSED_IN_TEST(Result<CompletedUpload> GetCompletedUpload(const BucketName&,
                                                                   const UploadId&))
  SLUICE_UNUSED_IN_TEST(Status AbortUpload(const BucketName&, const ObjectKey&, const UploadId&,
                                           std::vector<std::string>*))
  SLUICE_UNUSED_IN_TEST(Result<UploadListPage> ListUploads(const BucketName&,
                                                           const UploadListQuery&))
  SLUICE_UNUSED_IN_TEST(Result<bool> IsReferenced(const std::string&, std::string_view))
  SLUICE_UNUSED_IN_TEST(Result<std::vector<std::string>> PendingGc(size_t))
  SLUICE_UNUSED_IN_TEST(Status GcDone(const std::vector<std::string>&))
  SLUICE_UNUSED_IN_TEST(Result<std::vector<ReplicationTask>> ListReplicationQueue(
      const BucketName&, const std::string&, size_t))
  SLUICE_UNUSED_IN_TEST(Status FinishReplication(const BucketName&, const ReplicationTask&,
                                                 const std::string&))
  SLUICE_UNUSED_IN_TEST(Status QueueReplication(const BucketName&, const ObjectKey&,
                                                const VersionId&))
#undef SLUICE_UNUSED_IN_TEST
  void Subscribe(ChangeListener) override {}
  std::thread::id thread_;

 private:
  Index* inner_;
};

TEST(AsyncIndex, ABackendThatDeclaresNothingNeverBlocksTheCaller) {
  MemKv kv;
  KvIndex inner(&kv, false);
  BlockingByDefault index(&inner);
  boost::asio::thread_pool pool(1);
  AsyncIndex async(&index, &pool);
  const auto me = std::this_thread::get_id();
  RunCoroutine([&]() -> Task<void> {
    EXPECT_TRUE((co_await async.CreateBucket(info)).ok());
    auto b = co_await async.GetBucket("b"_b);
    EXPECT_TRUE(b.ok());
    EXPECT_NE(index.thread_, me);
    EXPECT_EQ(std::this_thread::get_id(), me);
  });
  pool.join();
}

}  // namespace
}  // namespace sluice::meta
