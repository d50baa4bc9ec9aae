#!/usr/bin/env bash
# A single-host Ceph cluster for development, tests and benchmarks: one monitor and one or
# three OSDs, on 127.0.0.1 only, from Debian's packages, no systemd, no manager.
#   scripts/ceph-dev.sh up       start it (or find it running); prints CEPH_CONF=FILE
#   scripts/ceph-dev.sh down     stop what `up` started (by pid) and remove its state
#   scripts/ceph-dev.sh status   the cluster's `ceph -s`, or exit 1 when it is not up
# Knobs (environment):
#   CEPH_DEV_DIR=/tmp/sluice-ceph   state: conf, keyring, monitor and OSD data, logs, pids
#   CEPH_DEV_OSDS=1                 1 or 3 OSDs (3 gives pools of size 2 room to lose one)
#   CEPH_DEV_STORE=memstore         memstore (RAM) or bluestore (a sparse file per OSD)
#   CEPH_DEV_OSD_GB=4               capacity of each OSD
#   CEPH_DEV_PORT=3400              the monitor's port (msgr2 only)
#   CEPH_DEV_RGW_PORT=              also run Ceph's S3 gateway (radosgw) on 127.0.0.1:PORT,
#                                   with a user whose keys are CEPH_DEV_RGW_ACCESS_KEY and
#                                   CEPH_DEV_RGW_SECRET_KEY; prints RGW_ENDPOINT=URL too
# The keyring holds client.admin, which the conf names: a gateway started with
# `--ceph-conf FILE` uses it like any Ceph client.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=${CEPH_DEV_DIR:-/tmp/sluice-ceph}
case "$DIR" in /tmp/?*) ;; *) echo "ceph-dev: CEPH_DEV_DIR must be under /tmp/ (got $DIR)" >&2; exit 2 ;; esac
OSDS=${CEPH_DEV_OSDS:-1}
STORE=${CEPH_DEV_STORE:-memstore}
OSD_GB=${CEPH_DEV_OSD_GB:-4}
PORT=${CEPH_DEV_PORT:-3400}
RGW_PORT=${CEPH_DEV_RGW_PORT:-}
RGW_AK=${CEPH_DEV_RGW_ACCESS_KEY:-devrgwaccesskey00001}
RGW_SK=${CEPH_DEV_RGW_SECRET_KEY:-devrgwsecretkey0000000000000000000000001}
CONF=$DIR/ceph.conf
KEYRING=$DIR/keyring
case "$OSDS" in 1|3) ;; *) echo "ceph-dev: CEPH_DEV_OSDS is 1 or 3 (got $OSDS)" >&2; exit 2 ;; esac
case "$STORE" in memstore|bluestore) ;; *) echo "ceph-dev: CEPH_DEV_STORE is memstore or bluestore" >&2; exit 2 ;; esac

log() { echo "ceph-dev: $*" >&2; }
ceph_() { timeout 30 ceph -c "$CONF" "$@"; }

# A recorded daemon is ours when its pid is alive and its command line names our conf
# (a recycled pid belongs to someone else).
alive() {
  local pid; pid=$(cat "$1" 2>/dev/null) || return 1
  [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$CONF"
}

stop_all() {
  [ -d "$DIR/pids" ] || return 0
  local f pid
  for f in "$DIR"/pids/*.pid; do
    [ -e "$f" ] || continue
    if alive "$f"; then
      pid=$(cat "$f"); kill "$pid" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
  done
}

running() {
  [ -f "$DIR/pids/list" ] || return 1
  local name
  while read -r name; do alive "$DIR/pids/$name.pid" || return 1; done < "$DIR/pids/list"
  ceph_ health >/dev/null 2>&1
}

case "${1:-}" in
  down)
    stop_all
    rm -rf "$DIR"
    log "stopped"
    exit 0 ;;
  status)
    running || { log "not running (state $DIR)"; exit 1; }
    ceph_ -s
    exit 0 ;;
  up) ;;
  *) echo "usage: scripts/ceph-dev.sh up|down|status" >&2; exit 2 ;;
esac

start() {  # NAME COMMAND...: a daemon in the foreground of its own session, pid recorded
  local name=$1; shift
  setsid "$@" >"$DIR/log/$name.out" 2>&1 </dev/null &
  echo $! > "$DIR/pids/$name.pid"
  echo "$name" >> "$DIR/pids/list"
}

answers() { /usr/bin/python3 -c 'import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=2)
except urllib.error.HTTPError:
    pass' "$1" 2>/dev/null; }

# radosgw on RGW_PORT (beast, Nagle off: with it every keep-alive request waits ~40 ms on a
# delayed ACK) with one S3 user; its pools are made on first start.
start_rgw() {
  [ -n "$RGW_PORT" ] || return 0
  if alive "$DIR/pids/rgw.pid"; then
    echo "RGW_ENDPOINT=http://127.0.0.1:$RGW_PORT"
    return 0
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$RGW_PORT") 2>/dev/null; then
    log "127.0.0.1:$RGW_PORT is taken by another process; set CEPH_DEV_RGW_PORT"
    return 1
  fi
  local key
  key=$(ceph_ auth get-or-create-key client.rgw mon 'allow rw' osd 'allow rwx')
  ceph-authtool "$KEYRING" --add-key "$key" -n client.rgw >/dev/null
  mkdir -p "$DIR/rgw"
  start rgw radosgw -c "$CONF" -n client.rgw -f \
    --rgw-frontends "beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1" --rgw-data "$DIR/rgw" \
    --rgw-enable-usage-log false --rgw-enable-ops-log false --debug-rgw 0/0
  for _ in $(seq 600); do
    answers "http://127.0.0.1:$RGW_PORT/" && break
    alive "$DIR/pids/rgw.pid" || { log "radosgw exited"; tail -20 "$DIR/log/rgw.out" >&2; return 1; }
    sleep 0.2
  done
  answers "http://127.0.0.1:$RGW_PORT/" || { log "radosgw did not answer"; return 1; }
  timeout 60 radosgw-admin -c "$CONF" user create --uid=sluice-dev --display-name="sluice dev" \
    --access-key="$RGW_AK" --secret="$RGW_SK" >"$DIR/log/rgw-user.json" 2>"$DIR/log/rgw-user.err" ||
    { cat "$DIR/log/rgw-user.err" >&2; return 1; }
  log "radosgw up on 127.0.0.1:$RGW_PORT"
  echo "RGW_ENDPOINT=http://127.0.0.1:$RGW_PORT"
}

if running; then
  log "already up ($DIR)"
  echo "CEPH_CONF=$CONF"
  start_rgw
  exit 0
fi
scripts/install-deps.sh --ceph >&2
stop_all
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
  log "127.0.0.1:$PORT is taken by another process; set CEPH_DEV_PORT"
  exit 1
fi
rm -rf "$DIR"
mkdir -p "$DIR"/{run,log,pids,mon,osd,crash}
trap 'rc=$?; if [ $rc -ne 0 ]; then log "failed (status $rc); stopping what it started; logs were in $DIR/log"; tail -5 "$DIR"/log/*.out >&2 2>/dev/null || true; stop_all; fi' EXIT

FSID=$(cat /proc/sys/kernel/random/uuid)
SIZE=1; [ "$OSDS" = 3 ] && SIZE=2
cat > "$CONF" <<EOF
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$PORT]
mon initial members = a
public addr = 127.0.0.1
public network = 127.0.0.0/8
ms bind ipv6 = false
ms bind msgr1 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $KEYRING
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
mon cluster log file = $DIR/log/cluster.log
crash dir = $DIR/crash
log to stderr = false
err to stderr = true
# One host: replicas go to different OSDs, not hosts. With three OSDs, pools keep two
# copies and stay writable with one OSD down.
osd crush chooseleaf type = 0
osd pool default size = $SIZE
osd pool default min size = 1
osd pool default pg num = 16
osd pool default pgp num = 16
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 2
mon data avail crit = 1
# Map changes (pool creation) commit in a tenth of a second, not two.
paxos propose interval = 0.1
paxos min wait = 0.01
# Failure detection in seconds, for the fault tests (defaults are tens of seconds).
osd heartbeat interval = 1
osd heartbeat grace = 4
# An OSD without peers asks the monitor for news (new maps) this often: one marked down
# while it was paused learns it, and boots again, within a second rather than thirty.
osd mon heartbeat interval = 1
mon osd down out interval = 30
debug ms = 0/0
debug osd = 0/0
debug mon = 0/0
debug paxos = 0/0
debug memstore = 0/0
debug bluestore = 0/0
debug bluefs = 0/0
debug rocksdb = 0/0

[client]
# Several clients run as one user (gateways, tests): each gets its own socket and log.
admin socket = $DIR/run/\$name.\$pid.asok
log file = $DIR/log/\$name.\$pid.log

[mon]
mon data = $DIR/mon/\$name

[osd]
osd data = $DIR/osd/\$id
osd objectstore = $STORE
memstore device bytes = $((OSD_GB << 30))
bluestore block path = $DIR/osd/block.\$id
bluestore block create = true
bluestore block size = $((OSD_GB << 30))
bluestore fsck on mkfs = false
bluestore fsck on mount = false
osd memory target = 1073741824
osd class update on start = false
EOF

ceph-authtool --create-keyring "$KEYRING" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool "$KEYRING" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' \
  --cap mgr 'allow *' >/dev/null
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$PORT]" "$DIR/monmap" >/dev/null
ceph-mon -c "$CONF" -i a --mkfs --monmap "$DIR/monmap" --keyring "$KEYRING"
start mon.a ceph-mon -c "$CONF" -i a -f
for _ in $(seq 150); do ceph_ health >/dev/null 2>&1 && break; sleep 0.2; done
ceph_ health >/dev/null
log "monitor up on 127.0.0.1:$PORT"

for ((n = 0; n < OSDS; n++)); do
  uuid=$(cat /proc/sys/kernel/random/uuid)
  key=$(ceph-authtool --gen-print-key)
  printf '{"cephx_secret": "%s"}\n' "$key" > "$DIR/osd-secret.json"
  id=$(ceph_ osd new "$uuid" -i "$DIR/osd-secret.json")
  rm -f "$DIR/osd-secret.json"
  ceph-authtool "$KEYRING" --add-key "$key" -n "osd.$id" >/dev/null
  mkdir -p "$DIR/osd/$id"
  ceph-osd -c "$CONF" -i "$id" --mkfs --osd-uuid "$uuid" >"$DIR/log/osd.$id.mkfs" 2>&1 ||
    { cat "$DIR/log/osd.$id.mkfs" >&2; exit 1; }
  start "osd.$id" ceph-osd -c "$CONF" -i "$id" -f
done
up=0
for _ in $(seq 300); do
  up=$(ceph_ osd stat -f json 2>/dev/null | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["num_up_osds"])' 2>/dev/null || echo 0)
  [ "$up" = "$OSDS" ] && break
  sleep 0.2
done
[ "$up" = "$OSDS" ] || { log "only $up of $OSDS OSDs came up"; exit 1; }
log "$OSDS OSD(s) up ($STORE, $OSD_GB GiB each)"
echo "CEPH_CONF=$CONF"
start_rgw
trap - EXIT
