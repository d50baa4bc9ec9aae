// The fixture of the meta::Index conformance kit: each test gets a fresh index, over every
// KvStore backend (MemKv and RocksDB today; the RADOS omap index will join), in its own
// temporary directory, with bucket "b" created.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include "meta/kv/kv_index.h"
#include "meta/kv/mem_kv.h"

namespace sluice::meta {

struct Backend {
  std::string name;
  std::function<std::unique_ptr<KvStore>(const std::string& dir)> open;
};

inline auto KvBackends() {
  return ::testing::Values(
      Backend{"mem", [](const std::string&) { return std::unique_ptr<KvStore>(new MemKv()); }},
      Backend{"rocksdb",
              [](const std::string& dir) { return std::move(OpenRocksKv(dir + "/db")).value(); }});
}

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) { return info.param.name; }

class IndexFixture : public ::testing::TestWithParam<Backend> {
 protected:
  // `sync`: every mutation synced (as the server runs), or not (for tests that write a lot).
  explicit IndexFixture(bool sync) : sync_(sync) {}
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-index-XXXXXX";
    dir_ = mkdtemp(tmpl);
    kv_ = GetParam().open(dir_);
    index_ = std::make_unique<KvIndex>(kv_.get(), sync_);
    ASSERT_TRUE(index_->CreateBucket({BucketName::Trusted("b"), 1, "o", "us-east-1"}).ok());
  }
  void TearDown() override {
    index_.reset();
    kv_.reset();
    std::system(("rm -rf " + dir_).c_str());
  }

  bool sync_;
  std::string dir_;
  std::unique_ptr<KvStore> kv_;
  std::unique_ptr<KvIndex> index_;
};

}  // namespace sluice::meta
