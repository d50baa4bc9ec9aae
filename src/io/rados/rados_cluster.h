// A connection to a Ceph cluster, made as any Ceph client makes it: the conf file names the
// monitors and the keyring, `id` the cephx user (client.<id>). Shared by the RADOS data
// store and the RADOS index (issue #18; docs/rados.md).
#pragma once

#include <chrono>
#include <memory>
#include <rados/librados.hpp>
#include <string>

#include "common/status.h"
#include "io/env.h"

namespace sluice::io {

// A librados error (negative errno) as a Status: -ENOENT is kNotFound; timeouts and a
// lost cluster are kServiceUnavailable, retryable.
Status RadosStatus(int r, const std::string& what);

class RadosCluster {
 public:
  // Fails with a message that names the conf, the user and what to do: kInvalidArgument
  // when the conf cannot be read, kAccessDenied when the key is refused,
  // kServiceUnavailable when no monitor answers within `timeout`. Every later operation
  // gives up after `timeout` too (kServiceUnavailable, retryable), so a stopped cluster
  // fails requests instead of hanging them.
  static Result<std::unique_ptr<RadosCluster>> Connect(const std::string& conf,
                                                       const std::string& id,
                                                       std::chrono::seconds timeout);
  ~RadosCluster();

  // The pool `name`, created when missing (replicated, the cluster's default size and PG
  // count, application "sluice"). kAccessDenied, saying which command would create it,
  // when the user may not.
  Result<librados::IoCtx> OpenPool(const std::string& name);

  // The raw size and use of the whole cluster (every pool, before replication is counted
  // out), as `ceph df` reports it. A round trip to a monitor: call it off the I/O threads.
  Result<SpaceInfo> Space();

  librados::Rados& rados() { return rados_; }
  const std::string& user() const { return user_; }

 private:
  RadosCluster() = default;
  librados::Rados rados_;
  std::string user_;
  bool connected_ = false;
};

}  // namespace sluice::io
