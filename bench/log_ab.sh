#!/usr/bin/env bash
# What the access log costs in wall-clock time: one sluice binary twice, its access log on
# (to a file, the default's cost) and off (--no-access-log), the same 4 KiB object, wrk
# alternating between them round by round so drift in machine load hits both alike (and
# which goes first alternates too: odd rounds on first, even rounds off first).
#   bench/log_ab.sh [ROUNDS] [CONNS] [BIN]     defaults: 6 16 build/release/src/sluice
# Prints req/s per round, the ratio on/off of each round, and each server's user and system
# CPU microseconds per request (from /proc/PID/stat around its round; the writer thread's
# write(2)s count, the kernel's writeback of the file does not).
# Starts only loopback servers and stops them (by pid) on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-6}; CONNS=${2:-16}; BIN=$(realpath "${3:-build/release/src/sluice}")
W=$(mktemp -d /tmp/sluice-logab.XXXXXX); head -c 4096 /dev/urandom > "$W/obj-4k"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
AK=logabaccesskey; SK=logabsecret0123456789
declare -A URL PID
for t in on off; do
  port=$(free_port)
  "$BIN" server --data "$W/data-$t" --listen 127.0.0.1:$port --access-key $AK --secret-key $SK \
    --lifecycle-interval 0 $([ $t = off ] && echo --no-access-log) >"$W/$t.out" 2>"$W/$t.err" &
  pids+=($!); PID[$t]=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.05; done
  URL[$t]=$(/usr/bin/python3 bench/load.py "http://127.0.0.1:$port" $AK $SK logab "$W/obj-4k" |
            /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['obj-4k'])")
done
for t in on off; do wrk -t2 -c"$CONNS" -d1s "${URL[$t]}" >/dev/null; done
cpu() { awk '{print $14, $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
for r in $(seq "$ROUNDS"); do
  declare -A rps split
  order="on off"; [ $((r % 2)) = 0 ] && order="off on"
  for t in $order; do
    read -r u0 s0 < <(cpu "${PID[$t]}")
    rps[$t]=$(wrk -t2 -c"$CONNS" -d4s "${URL[$t]}" | awk '/Requests\/sec/ {print $2}')
    read -r u1 s1 < <(cpu "${PID[$t]}")
    split[$t]=$(awk -v r="${rps[$t]}" -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v hz="$hz" \
      'BEGIN { n = r * 4; printf "user %.2f sys %.2f us", u * 1e6 / hz / n, s * 1e6 / hz / n }')
  done
  echo "round $r: on ${rps[on]} off ${rps[off]} req/s, on/off $(/usr/bin/python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.3f}')" "${rps[on]}" "${rps[off]}"); on ${split[on]}, off ${split[off]}"
done
