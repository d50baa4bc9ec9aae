// The fixture of the meta::Index conformance kit. A backend is anything that opens a fresh
// meta::Index in a directory: the kit sees only the interface, so the RADOS index (or any
// other) joins by adding one Backend. Each test gets a fresh index in its own temporary
// directory, with bucket "bkt" created. Today: KvIndex over MemKv and over RocksDB, and the
// RADOS index when SLUICE_CEPH_CONF names a cluster (each test in a RADOS namespace of its
// own; ctest integration.rados_index starts one), skipped otherwise.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "io/rados/rados_cluster.h"
#include "meta/api/index.h"
#include "meta/kv/kv_index.h"
#include "meta/kv/mem_kv.h"
#include "meta/rados/rados_index.h"

namespace sluice::meta {

struct Backend {
  std::string name;
  // A fresh index keeping its files under `dir`. `sync`: every mutation durable before it
  // returns (as the server runs), or not (for tests that write a lot).
  // nullptr: the backend is not available here (the test is skipped).
  std::function<std::shared_ptr<Index>(const std::string& dir, bool sync)> open;
};

// A RADOS index in a namespace of its own in pool "sluice-kit.meta" of the cluster
// SLUICE_CEPH_CONF names; nullptr without one.
// With `shard_keys`, the index splits a bucket's shards past that many entries: the kit's
// cases then run with splits under way beneath them.
inline std::shared_ptr<Index> OpenRadosIndexForTest(
    const std::string& dir, size_t shard_keys = 0,
    size_t pack_keys = RadosIndex::kDefaultPackKeys) {
  const char* conf = std::getenv("SLUICE_CEPH_CONF");
  if (!conf || !*conf) return nullptr;
  static io::RadosCluster* cluster = [conf] {
    auto c = io::RadosCluster::Connect(conf, "admin", std::chrono::seconds(30));
    if (!c.ok()) {
      ADD_FAILURE() << c.status().ToString();
      return static_cast<io::RadosCluster*>(nullptr);
    }
    return c->release();  // lives for the test process
  }();
  if (!cluster) return nullptr;
  auto pool = cluster->OpenPool("sluice-kit.meta");
  if (!pool.ok()) {
    ADD_FAILURE() << pool.status().ToString();
    return nullptr;
  }
  pool->set_namespace(dir);  // the test's temporary directory: unique
  auto index =
      std::make_shared<RadosIndex>(&cluster->rados(), *pool, io::SystemRandom(), io::SystemClock());
  if (shard_keys) index->SetShardKeys(shard_keys);
  index->SetPackKeys(pack_keys);
  if (Status s = index->Start(); !s.ok()) {
    ADD_FAILURE() << s.ToString();
    return nullptr;
  }
  return index;
}

// A KvIndex that owns its KvStore.
inline std::shared_ptr<Index> OwningKvIndex(std::unique_ptr<KvStore> kv, bool sync) {
  struct Both {
    std::unique_ptr<KvStore> kv;
    std::unique_ptr<KvIndex> index;
  };
  auto both = std::make_shared<Both>();
  both->kv = std::move(kv);
  both->index = std::make_unique<KvIndex>(both->kv.get(), sync);
  static std::atomic<int> writers{0};  // unique per index, as a process start is
  both->index->TrackUsage("test" + std::to_string(writers++));
  return std::shared_ptr<Index>(both, both->index.get());
}

inline auto IndexBackends() {
  return ::testing::Values(
      Backend{"mem", [](const std::string&,
                        bool sync) { return OwningKvIndex(std::make_unique<MemKv>(), sync); }},
      Backend{"rocksdb",
              [](const std::string& dir, bool sync) {
                return OwningKvIndex(std::move(OpenRocksKv(dir + "/db")).value(), sync);
              }},
      Backend{"rados", [](const std::string& dir, bool) { return OpenRadosIndexForTest(dir); }},
      Backend{"rados_split", [](const std::string& dir, bool) {
                // Shards split past 12 entries and keep listing packs of 3 objects.
                return OpenRadosIndexForTest(dir, /*shard_keys=*/12, /*pack_keys=*/3);
              }});
}

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param.name;
}

class IndexFixture : public ::testing::TestWithParam<Backend> {
 protected:
  explicit IndexFixture(bool sync) : sync_(sync) {}
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-index-XXXXXX";
    dir_ = mkdtemp(tmpl);
    index_ = GetParam().open(dir_, sync_);
    if (!index_) GTEST_SKIP() << GetParam().name << ": no cluster (set SLUICE_CEPH_CONF)";
    ASSERT_TRUE(index_->CreateBucket({BucketName::Trusted("bkt"), 1, "o", "us-east-1"}).ok());
  }
  void TearDown() override {
    index_.reset();
    std::system(("rm -rf " + dir_).c_str());
  }

  // Whether data `id` is referenced, asked as recovery asks: with its owner, key `key` of
  // bucket "bkt" (a sharded index answers from the shard of the owner's key; KvIndex needs
  // no owner at all).
  bool Referenced(const std::string& id, const std::string& key = "k") {
    auto r = index_->IsReferenced(
        id, DataOwner{BucketName::Trusted("bkt"), ObjectKey::Trusted(key), {}}.Encode());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && *r;
  }

  bool sync_;
  std::string dir_;
  std::shared_ptr<Index> index_;
};

}  // namespace sluice::meta
