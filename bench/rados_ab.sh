#!/usr/bin/env bash
# Two sluice builds as gateways on one dev cluster (scripts/ceph-dev.sh, one memstore OSD),
# side by side: 4 KiB GETs (wrk, 16 connections), 4 KiB PUTs (bench/put_load, 16
# connections) and a page of 1,000 keys (bench/s3_bench get, median of 20), alternated
# REPS times. For a change on the RADOS path, such as the range check every index read
# and write now carries (issue #18, "Range shards").
#   bench/rados_ab.sh OLD_SLUICE NEW_SLUICE
# Knobs: REPS (default 3), BENCH_DURATION (default 5s), LIST_KEYS (default 10000).
# Prints one line per measurement and the new/old ratios; writes bench/out/rados_ab/ab.jsonl.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# = 2 ] || { echo "usage: bench/rados_ab.sh OLD_SLUICE NEW_SLUICE" >&2; exit 2; }
declare -A BIN=([old]=$(realpath "$1") [new]=$(realpath "$2"))
REPS=${REPS:-3}; D=${BENCH_DURATION:-5s}; LIST_KEYS=${LIST_KEYS:-10000}
OUT=$PWD/bench/out/rados_ab; rm -rf "$OUT"; mkdir -p "$OUT"
RESULTS=$OUT/ab.jsonl; : > "$RESULTS"
cmake --build build/release --target put_load s3_bench >/dev/null

NAME=rados-ab; source bench/ceph_dev_bench.sh
declare -A PORT
for t in old new; do
  PORT[$t]=$(free_port)
  "${BIN[$t]}" server --ceph-conf "$CONF" --ceph-pool "ab$t" --gateway-name "ab$t" \
    --iam-key-file "$OUT/iam-key.$t" --listen 127.0.0.1:${PORT[$t]} --access-key $AK --secret-key $SK \
    --no-access-log >"$OUT/$t.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do curl -fs "http://127.0.0.1:${PORT[$t]}/health" >/dev/null && break; sleep 0.05; done
done
head -c 4096 /dev/urandom > "$OUT/obj-4k"
declare -A URL
for t in old new; do
  json=$(/usr/bin/python3 bench/load.py "http://127.0.0.1:${PORT[$t]}" $AK $SK bench "$OUT/obj-4k")
  URL[$t]=$(echo "$json" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['obj-4k'])")
  curl -fs -o /dev/null "${URL[$t]}"
  /usr/bin/python3 -c 'import boto3,sys; boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2],
    aws_secret_access_key=sys.argv[3], region_name="us-east-1").create_bucket(Bucket="pages")' \
    "http://127.0.0.1:${PORT[$t]}" $AK $SK
  timeout 600 build/release/bench/put_load 127.0.0.1 ${PORT[$t]} pages $AK $SK 0 16 600 $((LIST_KEYS / 16)) once >/dev/null
done

for r in $(seq "$REPS"); do
  order="old new"; [ $((r % 2)) = 0 ] && order="new old"
  for t in $order; do
    o=$(wrk -t2 -c16 -d$D "${URL[$t]}" 2>&1)
    if echo "$o" | grep -q Non-2xx; then echo "$t GET: non-2xx answers" >&2; exit 1; fi
    get=$(echo "$o" | awk '/Requests\/sec/ {print $2}')
    o=$(timeout 120 build/release/bench/put_load 127.0.0.1 ${PORT[$t]} bench $AK $SK 4096 16 ${D%s} 8)
    put=$(echo "$o" | tr ' ' '\n' | sed -n 's/^put_per_s=//p')
    o=$(build/release/bench/s3_bench get 127.0.0.1 ${PORT[$t]} $AK $SK /pages "list-type=2&max-keys=1000" 20)
    page=$(echo "$o" | tr ' ' '\n' | sed -n 's/^median_ms=//p')
    echo "{\"round\":$r,\"build\":\"$t\",\"get_rps\":$get,\"put_per_s\":$put,\"page_ms\":$page}" >> "$RESULTS"
    printf 'round %s %-3s GET 4 KiB %9s req/s  PUT 4 KiB %8s/s  page of 1,000 %6s ms\n' "$r" "$t" "$get" "$put" "$page"
  done
done
/usr/bin/python3 - "$RESULTS" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for r in sorted({x["round"] for x in rows}):
    o = next(x for x in rows if x["round"] == r and x["build"] == "old")
    n = next(x for x in rows if x["round"] == r and x["build"] == "new")
    print(f"round {r} new/old: GET {n['get_rps'] / o['get_rps']:.2f}x  PUT {n['put_per_s'] / o['put_per_s']:.2f}x  "
          f"page time {n['page_ms'] / o['page_ms']:.2f}x")
EOF
