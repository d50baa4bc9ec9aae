#!/usr/bin/env bash
# The newcomer's test, as CI runs it (.ci/run): the README's two commands on a freshly
# bootstrapped Debian 12 root, with nothing installed but what debootstrap's minbase brings.
#   1. debootstrap --variant=minbase bookworm, from the apt sources this machine is configured
#      with (read at run time; no mirror address is written in the repository);
#   2. /proc, /sys and /dev bind-mounted (--rbind); the committed tree (git archive HEAD) at
#      /work/main with ../shared beside it, read-only, as CI has it;
#   3. scripts/test.sh inside it (chroot): install, build, every test;
#   4. scripts/quickstart-check.sh inside it: scripts/run.sh in the background, /health, a boto3
#      list_buckets signed with the credential it printed, SIGTERM, exit 0, a clean work tree.
# Exits with test.sh's status (or the quickstart check's). Everything is unmounted and the root
# removed on every way out. Needs root.
#
# Two caches survive on the host, because neither can hide a missing package: the downloaded
# .deb files and ccache's objects (SLUICE_CI_CACHE, default /var/cache/sluice-ci). Installed
# packages, Python modules and build trees are never carried in.
# Knobs passed through to test.sh: SLUICE_FUZZ_SECONDS, SLUICE_SKIP_SANITIZERS, SLUICE_SKIP_FUZZ,
# SLUICE_SKIP_BENCH. SLUICE_FRESH_KEEP=1 keeps the root for a look afterwards (still unmounted).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
[ "$(id -u)" = 0 ] || { echo "fresh-check: needs root (debootstrap, mounts, chroot)" >&2; exit 2; }
shared=$(realpath ../shared 2>/dev/null || true)

t0=$(date +%s); tprev=$t0; timings=()
phase() {  # phase NAME: records the time since the previous mark under NAME
  local now; now=$(date +%s)
  timings+=("$(printf '%-40s %5d s' "$1" $((now - tprev)))")
  echo "fresh-check: $1 took $((now - tprev)) s"
  tprev=$now
}

# The host needs debootstrap (through this project's script, like every package).
if ! command -v debootstrap >/dev/null 2>&1; then
  apt-get -o DPkg::Lock::Timeout=300 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq \
    --no-install-recommends debootstrap >/dev/null
fi

# The Debian bookworm stanzas of this machine's apt sources: deb822 files and one-line lists.
debian_sources() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk 'BEGIN { RS = ""; ORS = "\n\n" }
         /(^|\n)Types:[^\n]*deb([ \t]|\n|$)/ && /(^|\n)Suites:[ \t]*bookworm/ { print }' "$f"
  done
}
debian_lists() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    grep -E '^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?[a-z]+://[^[:space:]]+[[:space:]]+bookworm' "$f" || true
  done
}
stanzas=$(debian_sources); lists=$(debian_lists)
# debootstrap's mirror: the URI of the stanza that carries the plain `bookworm` suite.
mirror=$(awk 'BEGIN { RS = "" } /(^|\n)Suites:[ \t]*bookworm([ \t]|\n|$)/ {
  n = split($0, l, "\n")
  for (i = 1; i <= n; i++) if (l[i] ~ /^URIs:/) { split(l[i], w, /[ \t]+/); print w[2]; exit } }' <<<"$stanzas")
if [ -z "$mirror" ]; then
  mirror=$(awk '{ for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($(i+1) == "bookworm") { print $i; exit } } }' <<<"$lists")
fi
[ -n "$mirror" ] || { echo "fresh-check: no Debian bookworm source in /etc/apt/sources.list{,.d}" >&2; exit 2; }

cache=${SLUICE_CI_CACHE:-/var/cache/sluice-ci}
mkdir -p "$cache/debootstrap" "$cache/apt/partial" "$cache/ccache"
work=$(mktemp -d /var/tmp/sluice-fresh.XXXXXX)
root=$work/root
mounts=()   # mount points, in the order they were made

cleanup() {
  local rc=$? m p i
  trap - EXIT INT TERM
  # Processes still running inside the root are this run's (a server a failed check left).
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -9 "${p#/proc/}" 2>/dev/null || true
  done
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    m=${mounts[i]}
    umount -R "$m" 2>/dev/null || umount -R -l "$m" 2>/dev/null || true
  done
  if grep -qF " $work/" /proc/self/mountinfo; then
    echo "fresh-check: something is still mounted under $work; not removing it" >&2
  elif [ "${SLUICE_FRESH_KEEP:-0}" = 1 ]; then
    echo "fresh-check: root kept in $root"
  else
    rm -rf --one-file-system "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "fresh-check: debootstrap --variant=minbase bookworm from $mirror into $root"
debootstrap --variant=minbase --cache-dir="$cache/debootstrap" \
  --keyring=/usr/share/keyrings/debian-archive-keyring.gpg bookworm "$root" "$mirror" \
  > "$work/debootstrap.log" 2>&1 || { tail -30 "$work/debootstrap.log"; exit 1; }
phase "bootstrap (debootstrap minbase)"

# apt in the root: this machine's Debian sources, nothing else (no third-party repository).
rm -f "$root/etc/apt/sources.list"
[ -n "$stanzas" ] && printf '%s\n' "$stanzas" > "$root/etc/apt/sources.list.d/debian.sources"
[ -n "$lists" ] && printf '%s\n' "$lists" > "$root/etc/apt/sources.list.d/debian.list"
# The machine's network setup, as a new machine here has it: name servers, hosts, and the
# local trust anchors (/usr/local/share/ca-certificates: this workplace reaches the npm
# registry through a proxy with its own CA). Debian's ca-certificates, when install-deps.sh
# installs it, adds them to the system store.
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
cp /etc/hosts "$root/etc/hosts"
if [ -d /usr/local/share/ca-certificates ]; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp -a /usr/local/share/ca-certificates/. "$root/usr/local/share/ca-certificates/"
fi

bind() {  # bind SRC DST [rbind]
  mkdir -p "$2"
  if [ "${3:-}" = rbind ]; then mount --rbind "$1" "$2"; mount --make-rslave "$2"
  else mount --bind "$1" "$2"; fi
  mounts+=("$2")
}
bind /proc "$root/proc" rbind
bind /sys "$root/sys" rbind
bind /dev "$root/dev" rbind
bind "$cache/apt" "$root/var/cache/apt/archives"
bind "$cache/ccache" "$root/var/cache/ccache"

# The committed tree, as a clone has it; git metadata made here so `git ls-files` works inside
# (check-deps.sh reads it) without carrying in anything but the tree.
mkdir -p "$root/work/main"
git -C "$repo" archive HEAD | tar -x -C "$root/work/main"
( cd "$root/work/main" && git init -q && git add -A &&
  git -c user.name=fresh-check -c user.email=fresh-check@localhost commit -qm "HEAD of $repo" )
if [ -n "$shared" ]; then
  cp -a "$shared" "$root/work/shared"
  chmod -R a-w "$root/work/shared"
fi
phase "root prepared (sources, mounts, tree)"

in_root() {
  chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb CI=true \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    DEBIAN_FRONTEND=noninteractive CCACHE_DIR=/var/cache/ccache CCACHE_MAXSIZE=12G \
    SLUICE_FUZZ_SECONDS="${SLUICE_FUZZ_SECONDS:-15}" SLUICE_SKIP_SANITIZERS="${SLUICE_SKIP_SANITIZERS:-0}" \
    SLUICE_SKIP_FUZZ="${SLUICE_SKIP_FUZZ:-0}" SLUICE_SKIP_BENCH="${SLUICE_SKIP_BENCH:-0}" \
    SLUICE_TIMINGS=/work/timings.txt \
    /bin/bash -c "cd /work/main && $1"
}

# Runs a command in the root in the background and waits for it, so that a signal to this
# script is handled at once (bash runs traps only between foreground commands).
run_in_root() {  # run_in_root COMMAND: output to the terminal and $work/test.log; sets rc
  rm -f "$work/rc"
  { in_root "$1"; echo $? > "$work/rc"; } 2>&1 | tee -a "$work/test.log" &
  wait $! || true
  rc=$(cat "$work/rc" 2>/dev/null || echo 1)
}
rc=0
set +e
run_in_root "scripts/test.sh"
phase "scripts/test.sh (status $rc)"
quick=not-run
if [ $rc = 0 ]; then
  run_in_root "scripts/quickstart-check.sh"
  [ $rc = 0 ] && quick=passed || quick=failed
  phase "scripts/run.sh check (status $rc)"
fi
set -e

echo "=== fresh-check timings"
printf '  %s\n' "${timings[@]}"
if [ -f "$root/work/timings.txt" ]; then
  echo "  inside scripts/test.sh:"; sed 's/^/    /' "$root/work/timings.txt"
fi
printf '  %-40s %5d s\n' "total" $(( $(date +%s) - t0 ))
# One closing line for the whole run: ctest's counts of both suites, plus the quickstart check.
read -r passed failed < <(sed -nE 's/.*tests passed, ([0-9]+) tests failed out of ([0-9]+).*/\1 \2/p' "$work/test.log" |
  awk -v q="$quick" '{ f += $1; p += $2 - $1 } END { if (q == "passed") p++; if (q == "failed") f++; print p + 0, f + 0 }')
[ $rc = 0 ] || [ "$failed" != 0 ] || failed=1   # a step that failed outside ctest counts too
echo "fresh-check: $passed passed, $failed failed"
exit $rc
