#!/usr/bin/env bash
# Installs what sluice needs from Debian 12's apt, and nothing that is already there.
#   scripts/install-deps.sh          build and run
#   scripts/install-deps.sh --test   also the test tools: GoogleTest, clang (libFuzzer,
#                                    sanitizers), the real S3 clients the tests drive, and Ceph
#   scripts/install-deps.sh --ceph   build and run, and Ceph's daemons and tools for the
#                                    development cluster (scripts/ceph-dev.sh)
#   scripts/install-deps.sh --image  build and run, and buildah and debootstrap to build the
#                                    container image (deploy/build-image.sh)
set -euo pipefail

build_pkgs=(build-essential cmake ninja-build pkg-config libboost-dev libssl-dev libisal-dev
            librocksdb-dev libpugixml-dev libfmt-dev libspdlog-dev libcli11-dev nlohmann-json3-dev
            libgoogle-perftools-dev python3-dev python3-setuptools pybind11-dev curl ca-certificates
            librados-dev libradospp-dev)
# ccache only speeds rebuilds (the build uses it when it is there); wrk, nginx (configured by
# bench/run.sh with its access log on and over HTTPS) and matplotlib are the benchmark
# harness's (bench/run.sh --quick runs in the suite); valgrind runs the cost counter
# (bench/costs.sh, a CI gate); iproute2, nftables and
# util-linux (taskset) put a server and a loader on two network namespaces for
# bench/loader_bench.py.
test_pkgs=(libgtest-dev libgmock-dev clang libclang-rt-14-dev clang-format clang-tidy python3 python3-boto3 awscli rclone s3fs
           s3cmd procps openssl python3-requests chromium python3-torch git ccache wrk
           python3-matplotlib iproute2 nftables util-linux prometheus nginx valgrind
           golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev yamllint
           python3-kubernetes python3-yaml)
# (Go with sprig and yaml.v3, the libraries Helm renders charts with, yamllint and the
# Kubernetes Python client's models check the manifests and the Helm chart in deploy/:
# Debian has no helm. See tests/integration/test_deploy.py.)

# Ceph's monitor, OSD and command-line tools: the development cluster (scripts/ceph-dev.sh)
# the RADOS backend is tested on (issue #18), and Ceph's own S3 gateway, a replication
# target in the tests (issue #19).
ceph_pkgs=(ceph-mon ceph-osd ceph-common radosgw)

# The container image (deploy/Containerfile) is built by buildah from a Debian 12 base that
# debootstrap makes from Debian's mirror (no container registry is needed).
image_pkgs=(buildah debootstrap)

pkgs=("${build_pkgs[@]}")
[ "${1:-}" = "--ceph" ] && pkgs+=("${ceph_pkgs[@]}")
[ "${1:-}" = "--image" ] && pkgs+=("${image_pkgs[@]}")
[ "${1:-}" = "--test" ] && pkgs+=("${test_pkgs[@]}" "${ceph_pkgs[@]}")
# Node.js and npm build the web console (console/, compiled into the binary) and drive the
# JavaScript SDK and browser tests. Use what the machine has (an image may ship NodeSource's
# nodejs, whose npm is built in and conflicts with Debian's npm); install Debian's only when
# the commands are missing.
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || pkgs+=(npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
# apt may be busy (unattended upgrades): wait for its lock rather than fail.
$SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
  --no-install-recommends "${missing[@]}"
# The tests run their own Prometheus on loopback (tests/integration/test_metrics.py); the
# service Debian's package starts would listen on every interface. Only when this run
# installed it: a Prometheus that was there before is left as it was.
if printf '%s\n' "${missing[@]}" | grep -qx prometheus && command -v systemctl >/dev/null 2>&1 &&
   systemctl is-active --quiet prometheus 2>/dev/null; then
  $SUDO systemctl disable --now prometheus >/dev/null 2>&1 || true
  echo "install-deps: stopped the prometheus service the package started (the tests run their own)"
fi
