// The fixture of the meta::Index conformance kit. A backend is anything that opens a fresh
// meta::Index in a directory: the kit sees only the interface, so the RADOS index (or any
// other) joins by adding one Backend. Each test gets a fresh index in its own temporary
// directory, with bucket "b" created. Today: KvIndex over MemKv and over RocksDB.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "meta/api/index.h"
#include "meta/kv/kv_index.h"
#include "meta/kv/mem_kv.h"

namespace sluice::meta {

struct Backend {
  std::string name;
  // A fresh index keeping its files under `dir`. `sync`: every mutation durable before it
  // returns (as the server runs), or not (for tests that write a lot).
  std::function<std::shared_ptr<Index>(const std::string& dir, bool sync)> open;
};

// A KvIndex that owns its KvStore.
inline std::shared_ptr<Index> OwningKvIndex(std::unique_ptr<KvStore> kv, bool sync) {
  struct Both {
    std::unique_ptr<KvStore> kv;
    std::unique_ptr<KvIndex> index;
  };
  auto both = std::make_shared<Both>();
  both->kv = std::move(kv);
  both->index = std::make_unique<KvIndex>(both->kv.get(), sync);
  return std::shared_ptr<Index>(both, both->index.get());
}

inline auto IndexBackends() {
  return ::testing::Values(
      Backend{"mem", [](const std::string&, bool sync) {
                return OwningKvIndex(std::make_unique<MemKv>(), sync);
              }},
      Backend{"rocksdb", [](const std::string& dir, bool sync) {
                return OwningKvIndex(std::move(OpenRocksKv(dir + "/db")).value(), sync);
              }});
}

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) { return info.param.name; }

class IndexFixture : public ::testing::TestWithParam<Backend> {
 protected:
  explicit IndexFixture(bool sync) : sync_(sync) {}
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-index-XXXXXX";
    dir_ = mkdtemp(tmpl);
    index_ = GetParam().open(dir_, sync_);
    ASSERT_TRUE(index_->CreateBucket({BucketName::Trusted("b"), 1, "o", "us-east-1"}).ok());
  }
  void TearDown() override {
    index_.reset();
    std::system(("rm -rf " + dir_).c_str());
  }

  bool sync_;
  std::string dir_;
  std::shared_ptr<Index> index_;
};

}  // namespace sluice::meta
