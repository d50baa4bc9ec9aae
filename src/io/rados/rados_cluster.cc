#include "io/rados/rados_cluster.h"

#include <cerrno>
#include <cstring>
#include <system_error>

namespace sluice::io {

Status RadosStatus(int r, const std::string& what) {
  if (r >= 0) return Status::Ok();
  const std::string msg = what + ": " + std::generic_category().message(-r);
  switch (-r) {
    case ENOENT:
      return Status(Err::kNotFound, msg);
    case ENOSPC:
    case EDQUOT:
      return Status(Err::kNoSpace, msg);
    // ESHUTDOWN is also what a blocklisted client gets (Ceph's EBLOCKLISTED).
    case ETIMEDOUT:
    case ENOTCONN:
    case ESHUTDOWN:
    case EAGAIN:
      return Status(Err::kServiceUnavailable, msg, /*retryable=*/true);
    default:
      return Status(Err::kIoError, msg);
  }
}

Result<std::unique_ptr<RadosCluster>> RadosCluster::Connect(const std::string& conf,
                                                            const std::string& id,
                                                            std::chrono::seconds timeout) {
  std::unique_ptr<RadosCluster> c(new RadosCluster());
  c->user_ = "client." + id;
  int r = c->rados_.init2(c->user_.c_str(), "ceph", 0);
  if (r < 0)
    return Status(Err::kInvalidArgument,
                  "Ceph user " + c->user_ + ": " + std::generic_category().message(-r));
  r = c->rados_.conf_read_file(conf.c_str());
  if (r < 0)
    return Status(Err::kInvalidArgument, "cannot read the Ceph configuration " + conf + ": " +
                                             std::generic_category().message(-r));
  const std::string secs = std::to_string(timeout.count());
  for (const char* opt : {"client_mount_timeout", "rados_mon_op_timeout", "rados_osd_op_timeout"})
    c->rados_.conf_set(opt, secs.c_str());
  r = c->rados_.connect();
  if (r == -EACCES || r == -EPERM)
    return Status(Err::kAccessDenied, "the Ceph cluster of " + conf + " refuses the key of " +
                                          c->user_ + " (check the keyring the conf names)");
  if (r < 0)
    return Status(Err::kServiceUnavailable,
                  "no Ceph monitor of " + conf + " answered within " + secs + " s (" +
                      std::generic_category().message(-r) + "): is the cluster up?",
                  /*retryable=*/true);
  c->connected_ = true;
  return c;
}

RadosCluster::~RadosCluster() {
  if (connected_) rados_.shutdown();
}

Result<librados::IoCtx> RadosCluster::OpenPool(const std::string& name) {
  librados::IoCtx io;
  int r = rados_.ioctx_create(name.c_str(), io);
  if (r == -ENOENT) {
    r = rados_.pool_create(name.c_str());
    if (r == -EPERM || r == -EACCES)
      return Status(Err::kAccessDenied, "pool " + name + " is missing and " + user_ +
                                            " may not create it: run `ceph osd pool create " +
                                            name +
                                            "` or grant the user 'allow rw' on the monitors");
    if (r < 0 && r != -EEXIST) return RadosStatus(r, "creating pool " + name);
    r = rados_.ioctx_create(name.c_str(), io);
    if (r >= 0) io.application_enable("sluice", true);  // a warning only, when refused
  }
  if (r < 0) return RadosStatus(r, "opening pool " + name);
  return io;
}

Result<SpaceInfo> RadosCluster::Space() {
  librados::cluster_stat_t st;
  int r = rados_.cluster_stat(st);
  if (r < 0) return RadosStatus(r, "cluster stat");
  SpaceInfo s;
  s.total = st.kb << 10;
  s.used = st.kb_used << 10;
  s.free = st.kb_avail << 10;
  return s;
}

}  // namespace sluice::io
