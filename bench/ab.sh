#!/usr/bin/env bash
# Before and after: two sluice binaries (say, the last commit's and this tree's) side by
# side on loopback, with nginx as the fixed reference, the same objects and load,
# interleaved round by round so drift in machine load hits both alike.
#   bench/ab.sh BIN_BEFORE BIN_AFTER [ROUNDS]
# Prints req/s per round and the medians, and the ratio after/before for each scenario:
# GET 4 KiB at 16 and 256 connections, GET 1 MiB at 16, PUT 4 KiB (durable) at 16.
# Starts only loopback servers and stops them (by pid) on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
A=$(realpath "$1"); B=$(realpath "$2"); ROUNDS=${3:-5}; D=${AB_DURATION:-4s}
PEERS=$(realpath ../shared/peers 2>/dev/null || true)
OUT=$(mktemp -d /tmp/sluice-ab.XXXXXX); mkdir -p "$OUT/www"
cmake --build build/release --target put_load >/dev/null
head -c 4096 /dev/urandom > "$OUT/www/obj-4k"; head -c 1048576 /dev/urandom > "$OUT/www/obj-1m"
pids=(); nginx_up=0
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  [ $nginx_up = 1 ] && "$PEERS/nginx-down.sh" >/dev/null 2>&1 || true
  rm -rf "$OUT"
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
AK=abaccesskey; SK=absecretkey0123456789
declare -A URL PORT
for t in before after; do
  bin=$A; [ $t = after ] && bin=$B
  PORT[$t]=$(free_port)
  "$bin" server --data "$OUT/data-$t" --listen 127.0.0.1:${PORT[$t]} --access-key $AK --secret-key $SK \
    --no-access-log --lifecycle-interval 0 >"$OUT/$t.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:${PORT[$t]}/health" >/dev/null && break; sleep 0.05; done
  json=$(/usr/bin/python3 bench/load.py "http://127.0.0.1:${PORT[$t]}" $AK $SK abbench "$OUT/www/obj-4k" "$OUT/www/obj-1m")
  for s in 4k 1m; do URL[$t,$s]=$(echo "$json" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['obj-$s'])"); done
done
targets=(before after)
if [ -n "$PEERS" ] && NP=$(free_port) && "$PEERS/nginx-up.sh" "$OUT/www" "$NP" >/dev/null 2>&1; then
  nginx_up=1; targets+=(nginx)
  for s in 4k 1m; do URL[nginx,$s]="http://127.0.0.1:$NP/obj-$s"; done
fi
RES=$OUT/results.txt; : > "$RES"
for r in $(seq "$ROUNDS"); do
  for sc in "get 4k 16" "get 4k 256" "get 1m 16" "put 4k 16"; do
    set -- $sc
    order=("${targets[@]}"); [ $((r % 2)) = 0 ] && order=($(printf '%s\n' "${targets[@]}" | tac))
    for t in "${order[@]}"; do
      if [ $1 = get ]; then
        rps=$(wrk -t2 -c$3 -d$D "${URL[$t,$2]}" | awk '/Requests\/sec/ {print $2}')
      else
        [ $t = nginx ] && continue
        rps=$(build/release/bench/put_load 127.0.0.1 ${PORT[$t]} abbench $AK $SK 4096 $3 ${D%s} | sed -n 's/.*put_per_s=\([0-9.]*\).*/\1/p')
      fi
      echo "$1 $2 c=$3 $t $rps" | tee -a "$RES"
    done
  done
done
/usr/bin/python3 - "$RES" <<'PY'
import statistics, sys
from collections import defaultdict
runs = defaultdict(list)
for line in open(sys.argv[1]):
    op, size, conns, target, rps = line.split()
    runs[(op, size, conns)].append((target, float(rps)))
print("\n| scenario | before | after | after/before | nginx |\n|---|---|---|---|---|")
for sc, rows in runs.items():
    med = {t: statistics.median([v for tt, v in rows if tt == t]) for t in {t for t, _ in rows}}
    spread = {t: (min(v for tt, v in rows if tt == t), max(v for tt, v in rows if tt == t)) for t in med}
    ng = f"{med['nginx']:,.0f}" if "nginx" in med else "-"
    print(f"| {' '.join(sc)} | {med['before']:,.0f} ({spread['before'][0]:,.0f}-{spread['before'][1]:,.0f}) "
          f"| {med['after']:,.0f} ({spread['after'][0]:,.0f}-{spread['after'][1]:,.0f}) "
          f"| {med['after'] / med['before']:.3f} | {ng} |")
PY
