// DataStore on a Ceph RADOS cluster (issue #18; docs/rados.md).
//
// Layout:
//   data pool:  d.<id>.<n>        the bytes, in stripes of kStripe (4 MiB); stripe 0 always
//                                 exists once committed and carries the size (xattr "size")
//   meta pool:  intents.<gateway> omap: <id> -> owner, for every id this gateway created
//                                 and has not published: its write intents
// Create records the intent before any byte is written, so data that a crash leaves behind
// is always found by ListUnpublished (of the gateway that wrote it) and settled by recovery
// with the index (meta::Index::IsReferenced(id, owner)). Appends keep up to kInFlight
// writes in flight; Commit waits for them, then writes the size. RADOS acknowledges a write
// once every replica has it, so a committed id is durable.
//
// Every call waits on the network, so blocking() says so and the I/O threads reach this
// store through AsyncDataStore (on the blocking pool). Send streams with reads run on that
// pool, one piece ahead of the socket.
#pragma once

#include <rados/librados.hpp>

#include <boost/asio/thread_pool.hpp>
#include <memory>
#include <string>
#include <vector>

#include "io/env.h"
#include "io/rados/rados_cluster.h"
#include "storage/api/data_store.h"

namespace sluice::storage {

class RadosDataStore final : public DataStore {
 public:
  static constexpr uint64_t kStripe = 4 << 20;
  static constexpr size_t kPiece = 1 << 20;  // each append, and each read Send makes
  static constexpr int kInFlight = 4;         // appends in flight per writer

  // `data` and `meta` are open on their pools; `gateway` names this gateway's intent log
  // (stable across its restarts); `pool` runs Send's reads.
  RadosDataStore(librados::IoCtx data, librados::IoCtx meta, std::string gateway,
                 io::Random* rnd, boost::asio::thread_pool* pool);

  Blocking blocking() const override { return {true, true}; }
  Result<std::unique_ptr<DataWriter>> Create(uint64_t size_hint = 0,
                                             std::string_view owner = {}) override;
  Result<std::unique_ptr<DataReader>> Open(const std::string& id) override;
  void Published(const std::string& id) override;
  Status Delete(const std::string& id) override;
  Result<std::vector<Unpublished>> ListUnpublished() override;

  static std::string StripeName(const std::string& id, uint64_t n);

 private:
  friend class RadosWriter;
  librados::IoCtx data_, meta_;
  std::string intents_;
  io::Random* rnd_;
  boost::asio::thread_pool* pool_;
};

}  // namespace sluice::storage
