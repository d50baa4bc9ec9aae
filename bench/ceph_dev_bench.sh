# Sourced by the benchmarks that run sluice gateways on their own dev cluster
# (shards_bench.sh, packs_bench.sh, rados_ab.sh): free_port, a scripts/ceph-dev.sh cluster in
# a temporary directory (CEPH_CONF), the gateways' keys (AK, SK), and a cleanup on exit that
# stops the pids in `pids` and then the cluster. NAME: the temporary directory's prefix.
# shellcheck shell=bash
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
export CEPH_DEV_DIR=$(mktemp -d "/tmp/sluice-${NAME:-bench}-XXXXXX") CEPH_DEV_PORT=$(free_port) CEPH_DEV_OSD_GB=${CEPH_DEV_OSD_GB:-4}
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  scripts/ceph-dev.sh down >/dev/null 2>&1 || true
  rm -rf "$CEPH_DEV_DIR"
}
trap cleanup EXIT
CONF=$(scripts/ceph-dev.sh up | sed -n 's/^CEPH_CONF=//p')
AK=benchaccesskey; SK=benchsecretkey0123456789
