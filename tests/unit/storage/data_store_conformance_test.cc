// The conformance kit for storage::DataStore: mem, local on the in-memory file system,
// and local on the real disk.
#include <gtest/gtest.h>
#include <unistd.h>

#include <functional>
#include <memory>

#include "io/mem_fs.h"
#include "storage/local/local_data_store.h"
#include "storage/mem/mem_data_store.h"

namespace sluice::storage {
namespace {

struct Env {
  std::unique_ptr<io::MemFileSystem> memfs;
  std::string dir;
  std::unique_ptr<DataStore> store;
};

struct Backend {
  std::string name;
  std::function<Env()> make;
};

class DataStoreConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { env_ = GetParam().make(); }
  void TearDown() override {
    env_.store.reset();
    if (!env_.dir.empty()) std::system(("rm -rf " + env_.dir).c_str());
  }
  std::string Write(const std::string& data) {
    auto w = env_.store->Create();
    EXPECT_TRUE(w.ok());
    EXPECT_TRUE((*w)->Append(data.data(), data.size()).ok());
    EXPECT_TRUE((*w)->Commit().ok());
    return (*w)->id();
  }
  std::string ReadAll(const std::string& id) {
    auto r = env_.store->Open(id);
    if (!r.ok()) return "<" + std::string(ErrName(r.status().code())) + ">";
    std::string out((*r)->Size(), '\0');
    size_t got = 0;
    EXPECT_TRUE((*r)->Read(0, out.data(), out.size(), &got).ok());
    out.resize(got);
    return out;
  }
  Env env_;
};

TEST_P(DataStoreConformance, WriteCommitPublishRead) {
  std::string id = Write("hello world");
  EXPECT_EQ(ReadAll(id), "hello world");
  auto pending = env_.store->ListUnpublished();
  ASSERT_TRUE(pending.ok());
  EXPECT_EQ(*pending, std::vector<std::string>{id});
  env_.store->Published(id);
  EXPECT_TRUE(env_.store->ListUnpublished()->empty());
  EXPECT_EQ(ReadAll(id), "hello world");
  auto r = env_.store->Open(id);
  char buf[5];
  size_t got;
  ASSERT_TRUE((*r)->Read(6, buf, 5, &got).ok());
  EXPECT_EQ(std::string(buf, got), "world");
}

TEST_P(DataStoreConformance, UncommittedWriterLeavesNothing) {
  {
    auto w = env_.store->Create();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append("x", 1).ok());
  }
  EXPECT_TRUE(env_.store->ListUnpublished()->empty());
}

TEST_P(DataStoreConformance, DeleteIsIdempotent) {
  std::string id = Write("abc");
  env_.store->Published(id);
  ASSERT_TRUE(env_.store->Delete(id).ok());
  EXPECT_EQ(ReadAll(id), "<kNotFound>");
  EXPECT_TRUE(env_.store->Delete(id).ok());
}

TEST_P(DataStoreConformance, ManyIdsAreDistinct) {
  std::set<std::string> ids;
  for (int i = 0; i < 50; i++) ids.insert(Write(std::to_string(i)));
  EXPECT_EQ(ids.size(), 50u);
}

INSTANTIATE_TEST_SUITE_P(
    Backends, DataStoreConformance,
    ::testing::Values(Backend{"mem", [] { return Env{nullptr, "", std::make_unique<MemDataStore>()}; }},
                      Backend{"local_memfs",
                              [] {
                                Env e;
                                e.memfs = std::make_unique<io::MemFileSystem>();
                                auto s = std::make_unique<LocalDataStore>(e.memfs.get(),
                                                                          io::SystemRandom(), "/data");
                                EXPECT_TRUE(s->Init().ok());
                                e.store = std::move(s);
                                return e;
                              }},
                      Backend{"local_disk",
                              [] {
                                Env e;
                                char tmpl[] = "/tmp/sluice-ds-XXXXXX";
                                e.dir = mkdtemp(tmpl);
                                auto s = std::make_unique<LocalDataStore>(io::PosixFileSystem(),
                                                                          io::SystemRandom(), e.dir);
                                EXPECT_TRUE(s->Init().ok());
                                e.store = std::move(s);
                                return e;
                              }}),
    [](const auto& info) { return info.param.name; });

TEST(LocalDataStore, RefusesIdsThatAreNotIds) {
  io::MemFileSystem fs;
  LocalDataStore s(&fs, io::SystemRandom(), "/data");
  ASSERT_TRUE(s.Init().ok());
  EXPECT_EQ(s.Open("../../etc/passwd").status().code(), Err::kCorruption);
  EXPECT_EQ(s.Delete("../x").code(), Err::kCorruption);
}

TEST(LocalDataStore, FailedSyncFailsCommit) {
  io::MemFileSystem fs;
  LocalDataStore s(&fs, io::SystemRandom(), "/data");
  ASSERT_TRUE(s.Init().ok());
  fs.SetFault([](std::string_view op, const std::string&) {
    return op == "sync" ? Status(Err::kIoError, "EIO") : Status::Ok();
  });
  auto w = s.Create();
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Append("x", 1).ok());
  EXPECT_EQ((*w)->Commit().code(), Err::kIoError);
  fs.SetFault(nullptr);
  w->reset();
  EXPECT_TRUE(s.ListUnpublished()->empty());  // the failed write was discarded
}

}  // namespace
}  // namespace sluice::storage
