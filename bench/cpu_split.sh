#!/usr/bin/env bash
# Where a GET's time goes, against nginx's: one sluice at its defaults (access log on,
# to a file) and the peer nginx (../shared/peers/nginx-up.sh) serve the same object (4 KiB, or KIB);
# wrk alternates between them round by round, and each server's user and system CPU is read
# from /proc/PID/stat around each round. Prints req/s and user and system microseconds of
# CPU per request for each, and the ratio sluice/nginx per round (bench/ROUND2.md, "Where a
# 4 KiB GET's time goes"). Run it on a quiet machine: whatever else runs takes its CPU.
#   bench/cpu_split.sh [ROUNDS] [CONNS] [SECONDS] [KIB]     defaults: 3 16 5 4 (the object's size)
# Starts only loopback servers and stops them on exit (sluice by pid, nginx by its script).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}; CONNS=${2:-16}; SECS=${3:-5}; KIB=${4:-4}
PEERS=$(realpath ../shared/peers)
W=$(mktemp -d /tmp/sluice-cpusplit.XXXXXX); mkdir -p "$W/www"
head -c $((KIB * 1024)) /dev/urandom > "$W/www/obj-4k"  # named obj-4k whatever its size
SP=""
cleanup() {
  [ -n "$SP" ] && { kill "$SP" 2>/dev/null || true; wait "$SP" 2>/dev/null || true; }
  "$PEERS/nginx-down.sh" >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
AK=benchaccesskey; SK=benchsecretkey0123456789
SPORT=$(free_port); NPORT=$(free_port)
build/release/src/sluice server --data "$W/data" --listen 127.0.0.1:$SPORT --access-key $AK \
  --secret-key $SK >"$W/sluice.log" 2>&1 &
SP=$!
"$PEERS/nginx-up.sh" "$W/www" "$NPORT" >/dev/null 2>&1
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$SPORT/health" >/dev/null && break; sleep 0.05; done
SURL=$(/usr/bin/python3 bench/load.py "http://127.0.0.1:$SPORT" $AK $SK bench "$W/www/obj-4k" |
  /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['obj-4k'])")
NURL=http://127.0.0.1:$NPORT/obj-4k
NP=$(cat "${NGINX_STATE:-/tmp/peers-nginx}/master.pid")
NW=$(pgrep -P "$NP" | tr '\n' ' ')  # nginx's workers: the master serves nothing
cpu() { local u=0 s=0 a b; for p in "$@"; do read -r a b < <(awk '{print $14, $15}' "/proc/$p/stat"); u=$((u + a)); s=$((s + b)); done; echo "$u $s"; }
wrk -t2 -c"$CONNS" -d2s "$SURL" >/dev/null; wrk -t2 -c"$CONNS" -d2s "$NURL" >/dev/null  # warm both
hz=$(getconf CLK_TCK)
for r in $(seq "$ROUNDS"); do
  line="round $r"
  for t in sluice nginx; do
    if [ $t = sluice ]; then url=$SURL; pids=$SP; else url=$NURL; pids=$NW; fi
    read -r u0 s0 < <(cpu $pids)
    rps=$(wrk -t2 -c"$CONNS" -d"${SECS}s" "$url" | awk '/Requests\/sec/ {print $2}')
    read -r u1 s1 < <(cpu $pids)
    line+=$(awk -v t=$t -v r="$rps" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v d="$SECS" -v hz="$hz" \
      'BEGIN { n = r * d; printf "  %s %.0f req/s user %.2f us sys %.2f us", t, r, u * 1e6 / hz / n, s * 1e6 / hz / n }')
    [ $t = sluice ] && srps=$rps || nrps=$rps
  done
  echo "$line  ratio $(awk -v a="$srps" -v b="$nrps" 'BEGIN { printf "%.2f", a / b }')"
done
