#!/usr/bin/env bash
# Builds sluice's container image from deploy/Containerfile with Debian 12's buildah, as root.
#   deploy/build-image.sh [TAG]            (TAG defaults to localhost/sluice:dev)
# The base is Debian 12: $BASE when it is set (docker.io/library/debian:12 where a registry is
# reachable); otherwise one made here by debootstrap (minbase) from Debian's mirror
# ($DEBIAN_MIRROR, default http://deb.debian.org/debian) and kept as localhost/debian:12-minbase,
# so no container registry is needed. Layers go to buildah's storage ($STORAGE_DRIVER, default
# vfs, which works inside containers too).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "build-image: needs root (debootstrap, buildah)" >&2; exit 2; }
scripts/install-deps.sh --image
tag=${1:-localhost/sluice:dev}
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-${mirror%/debian}/debian-security}
base=${BASE:-}
if [ -z "$base" ]; then
  base=localhost/debian:12-minbase
  if ! buildah inspect --type image "$base" >/dev/null 2>&1; then
    tmp=$(mktemp -d /var/tmp/sluice-base.XXXXXX)
    ctr=
    trap 'rm -rf "$tmp"; [ -z "$ctr" ] || buildah rm "$ctr" >/dev/null 2>&1 || true' EXIT
    echo "build-image: making the Debian 12 base with debootstrap from $mirror"
    debootstrap --variant=minbase bookworm "$tmp/root" "$mirror" >"$tmp/debootstrap.log" 2>&1 ||
      { tail -20 "$tmp/debootstrap.log" >&2; exit 1; }
    cat >"$tmp/root/etc/apt/sources.list" <<SOURCES
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb $security bookworm-security main
SOURCES
    rm -rf "$tmp/root/var/cache/apt/archives/"*.deb "$tmp/root/var/lib/apt/lists/"*
    tar -C "$tmp/root" -cf "$tmp/root.tar" .
    ctr=$(buildah from scratch)
    buildah add "$ctr" "$tmp/root.tar" / >/dev/null
    buildah config --cmd /bin/bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$ctr"
    buildah commit --quiet "$ctr" "$base" >/dev/null
    echo "build-image: base $base made"
  fi
fi
# chroot isolation and the host's network: buildah runs inside unprivileged containers too.
# The host's local trust anchors (a network that reaches registries through a proxy with
# its own CA) are mounted into the build's steps, where Debian's ca-certificates adds them
# for apt and npm; they are not copied into the image.
volumes=()
[ -d /usr/local/share/ca-certificates ] &&
  volumes=(-v /usr/local/share/ca-certificates:/usr/local/share/ca-certificates:ro)
buildah build --isolation chroot --network host --layers "${volumes[@]}" -f deploy/Containerfile \
  --build-arg BASE="$base" -t "$tag" .
echo "build-image: built $tag"
