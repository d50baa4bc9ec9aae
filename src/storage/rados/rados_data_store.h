// DataStore on a Ceph RADOS cluster (issue #18; docs/rados.md).
//
// Layout:
//   data pool:  d.<id>.<n>        the bytes, in stripes of kStripe (4 MiB); stripe 0 always
//                                 exists once committed and carries the size (xattr "size")
//   meta pool:  intents.<gateway> omap: <id> -> owner, for every id this gateway created
//                                 and has not published: its write intents. The gateway
//                                 holds a lease on it (a cls_lock with a duration, renewed
//                                 every third of it)
//               gateways          omap: the name of every gateway that has an intent log
// Create records the intent before any byte is written, so data that a crash leaves behind
// is always found by ListUnpublished (of the gateway that wrote it) and settled by recovery
// with the index (meta::Index::IsReferenced(id, owner)). Appends keep up to kInFlight
// writes in flight; Commit waits for them, then writes the size. RADOS acknowledges a write
// once every replica has it, so a committed id is durable.
//
// Leases (docs/rados.md, "Leases"): a gateway writes only while it holds the lease on its
// intent log. Another gateway that can take a lapsed lease claims the log, waits one more
// lease duration (a stalled owner finds its lease gone and stops writing), and then settles
// it as recovery would (ClaimAbandoned, ForgetLog).
//
// Every call waits on the network, so blocking() says so and the I/O threads reach this
// store through AsyncDataStore (on the blocking pool). Send streams with reads run on that
// pool, one piece ahead of the socket.
#pragma once

#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <rados/librados.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/single_flight.h"
#include "io/env.h"
#include "io/rados/rados_cluster.h"
#include "storage/api/data_store.h"

namespace sluice::storage {

class RadosDataStore final : public DataStore {
 public:
  static constexpr uint64_t kStripe = 4 << 20;
  static constexpr size_t kPiece = 1 << 20;  // each append, and each read Send makes
  static constexpr int kInFlight = 4;        // appends in flight per writer

  // `data` and `meta` are open on their pools; `gateway` names this gateway's intent log
  // (stable across its restarts); `pool` runs Send's reads; `lease` is how long the lease
  // on the log lasts unrenewed.
  RadosDataStore(librados::IoCtx data, librados::IoCtx meta, std::string gateway, io::Random* rnd,
                 io::Clock* clock, boost::asio::thread_pool* pool,
                 std::chrono::seconds lease = std::chrono::seconds(30));
  ~RadosDataStore() override;
  // Takes the lease on this gateway's intent log (waiting out a previous holder's, up to
  // its duration: a restart right after a crash), then renews it in the background.
  Status Start();

  Blocking blocking() const override { return {true, true}; }
  Result<std::unique_ptr<DataWriter>> Create(uint64_t size_hint = 0,
                                             std::string_view owner = {}) override;
  Result<std::unique_ptr<DataReader>> Open(const std::string& id) override;
  // The ranges grouped by the stripe object they fall in: one read operation per object,
  // holding a read of each of its ranges, all in flight at once (aio_operate), then awaited.
  // A batch of a shard's members costs one or two OSD operations, not two a member (the
  // size, then the bytes). No size is read: a range past the data's end comes back short
  // (kCorruption), a missing id as kNotFound.
  void ReadMany(std::vector<RangeRead>& reads) override;
  bool ReadsManyAtOnce() const override { return true; }
  void Published(const std::string& id) override;
  Status Delete(const std::string& id) override;
  Result<std::vector<Unpublished>> ListUnpublished() override;
  Result<std::vector<AbandonedLog>> ClaimAbandoned() override;
  Status ForgetLog(const std::string& name) override;

  static std::string StripeName(const std::string& id, uint64_t n);

  // A piece Send reads: [offset, offset + len) of one data id, within one kPiece-aligned
  // piece. Concurrent GETs of the same range (a model pulled by every replica at once)
  // share one read of each piece (single-flight).
  struct Piece {
    Status status = Status::Ok();
    std::shared_ptr<const std::string> bytes;
  };
  SingleFlight<Piece>& piece_reads() { return piece_reads_; }

 private:
  friend class RadosWriter;
  // kUnavailable unless the lease is held with a third of its duration left.
  Status CheckLease() const;
  // CheckLease, but first renews (or takes again, when the log is free) a lease that lapsed
  // while the cluster was unreachable, so writes resume as soon as it is back rather than at
  // the renewer's next turn. One caller renews at a time.
  Status EnsureLease();
  // Renews this gateway's lease, or takes it anew when it lapsed and the log is free.
  Status Renew();
  Status TakeLease(const std::string& oid, uint8_t flags);
  Result<std::vector<Unpublished>> ListLog(const std::string& oid);
  void RenewLoop();

  librados::IoCtx data_, meta_;
  SingleFlight<Piece> piece_reads_;
  std::string gateway_, intents_;
  io::Random* rnd_;
  io::Clock* clock_;
  boost::asio::thread_pool* pool_;
  const std::chrono::seconds lease_;
  const std::string cookie_;
  std::atomic<int64_t> lease_until_{0};     // monotonic nanos; 0: not held
  std::map<std::string, int64_t> claimed_;  // gateway -> when its log was claimed (nanos)
  std::mutex renew_mu_;                     // serialises Renew
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread renewer_;
};

}  // namespace sluice::storage
