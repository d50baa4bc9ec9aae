#!/usr/bin/env bash
# What recording request metrics costs on the 4 KiB GET (issue #20: at most 3%): one
# sluice with recording on and one with --no-request-metrics, the same presigned 4 KiB
# GET by wrk (1 thread, 16 connections), alternated ROUNDS times (first one, then the
# other first) so both see the same machine noise; each round also scrapes /metrics once (its cost is not in the GET loop).
#   bench/metrics_bench.sh [ROUNDS] [SECONDS]     defaults 5 rounds of 5 s
# Prints one line per run and a last JSON line: the median requests/s of each and their
# ratio. Starts two loopback servers and stops them (by pid) on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}; SECS=${2:-5}
BIN=build/release/src/sluice
W=$(mktemp -d /tmp/sluice-mb.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
AK=mbaccesskey; SK=mbsecretkey0123456789
head -c 4096 /dev/urandom > "$W/obj-4k"
declare -A URL PORT
for way in on off; do
  PORT[$way]=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  extra=(); [ $way = off ] && extra=(--no-request-metrics)
  "$BIN" server --data "$W/data-$way" --listen 127.0.0.1:${PORT[$way]} --access-key $AK --secret-key $SK \
    --no-access-log --lifecycle-interval 0 "${extra[@]}" >"$W/$way.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 300); do curl -fs "http://127.0.0.1:${PORT[$way]}/health" >/dev/null && break; sleep 0.1; done
  URL[$way]=$(/usr/bin/python3 bench/load.py "http://127.0.0.1:${PORT[$way]}" $AK $SK mbench "$W/obj-4k" |
              /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['obj-4k'])")
  wrk -t1 -c16 -d1s "${URL[$way]}" >/dev/null  # warm
done
: > "$W/runs"
for r in $(seq "$ROUNDS"); do
  order="on off"; [ $((r % 2)) = 0 ] && order="off on"  # neither always goes first
  for way in $order; do
    rps=$(wrk -t1 -c16 -d"${SECS}s" "${URL[$way]}" | awk '/Requests\/sec/ {print $2}')
    echo "$way $rps" | tee -a "$W/runs"
  done
  scrape_ms=$(curl -fs -o /dev/null -w '%{time_total}' "http://127.0.0.1:${PORT[on]}/metrics" | awk '{printf "%.2f", $1*1000}')
  echo "scrape ${scrape_ms} ms" | tee -a "$W/scrapes"
done
/usr/bin/python3 - "$W/runs" <<'PY'
import json, statistics, sys
runs = {"on": [], "off": []}
for line in open(sys.argv[1]):
    way, rps = line.split()
    runs[way].append(float(rps))
on, off = statistics.median(runs["on"]), statistics.median(runs["off"])
pairs = [a / b for a, b in zip(runs["on"], runs["off"])]  # round by round
print(json.dumps({"bench": "metrics_overhead", "on_rps": round(on), "off_rps": round(off),
                  "ratio": round(on / off, 4), "pair_ratios": [round(p, 3) for p in pairs]}))
PY
