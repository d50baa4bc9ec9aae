#!/usr/bin/env bash
# sluice gateways against Ceph RGW on the same RADOS cluster (issue #18): one cluster from
# ../shared/peers/rgw-up.sh (RGW_OSDS OSDs, memstore unless RGW_STORE says otherwise), RGW on
# it, and sluice gateways on the same OSDs with pools of the same settings (the cluster's
# defaults), back to back, repeated with the order rotated.
#   bench/rados.sh            GET and PUT of 4 KiB, 1 MiB and 64 MiB; ListObjectsV2 walk and
#                             first page at LIST_KEYS (default "10000 100000") keys; two
#                             gateways against one on 4 KiB GETs
#   bench/rados.sh --quick    a smoke run (half a minute)
# Knobs: RGW_OSDS (1-3), BENCH_SIZES ("4k 1m 64m"), LIST_KEYS ("10000 100000"; "" skips the
# listing), BENCH_MD (where the tables go), BENCH_DURATION, BENCH_REPS.
# Writes bench/out/rados/rados.jsonl and the tables (BENCH_MD, default bench/RADOS.md).
# Starts only loopback servers and stops what it started (by pid) on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PEERS=$(realpath "$ROOT/../shared/peers")
QUICK=0; [ "${1:-}" = "--quick" ] && QUICK=1
if [ $QUICK = 1 ]; then D=2s; REPS=1; SIZES="4k 1m"; PUT_S=2; LIST_KEYS="${LIST_KEYS-2000}"
else D=${BENCH_DURATION:-5s}; REPS=${BENCH_REPS:-3}; SIZES="${BENCH_SIZES:-4k 1m 64m}"; PUT_S=4; LIST_KEYS="${LIST_KEYS-10000 100000}"; fi
# Where the tables go (BENCH_MD): bench/RADOS.md for the run BENCHMARKS.md shows.
MD=${BENCH_MD:-bench/RADOS.md}; [ $QUICK = 1 ] && MD=bench/out/rados/quick.md
OUT=$ROOT/bench/out/rados; rm -rf "$OUT"; mkdir -p "$OUT/www"
RESULTS=$OUT/rados.jsonl; : > "$RESULTS"

scripts/install-deps.sh --test >/dev/null
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release \
  $([ -f build/release/CMakeCache.txt ] || echo -DSLUICE_TESTS=OFF) >/dev/null
cmake --build build/release --target sluice put_load s3_bench >/dev/null

pids=(); rgw_started=0
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  [ $rgw_started = 1 ] && RGW_STATE=$RGW_STATE "$PEERS/rgw-down.sh" >/dev/null 2>&1 || true
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Memstore keeps every byte in RAM, and RGW frees overwritten data only after its GC's
# two-hour wait: the OSDs get room for every PUT phase's bytes (about 6 GiB for RGW).
export RGW_STATE=${RGW_STATE:-/tmp/sluice-bench-rgw} RGW_OSDS=${RGW_OSDS:-1} RGW_OSD_GB=${RGW_OSD_GB:-14}
export RGW_PORT=${RGW_PORT:-$(free_port)}
rgw_env=$("$PEERS/rgw-up.sh" 2>"$OUT/rgw-up.log") || { echo "RGW did not come up; see $OUT/rgw-up.log" >&2; exit 1; }
eval "$rgw_env"; rgw_started=1
RGW_AK=$AWS_ACCESS_KEY_ID; RGW_SK=$AWS_SECRET_ACCESS_KEY

# sluice gateways on the same cluster, as the same client (client.admin from its conf).
SAK=benchaccesskey; SSK=benchsecretkey0123456789
start_gateway() { # PORT NAME
  build/release/src/sluice server --ceph-conf "$CEPH_CONF" --ceph-pool sluicebench --gateway-name "$2" \
    --iam-key-file "$OUT/iam-key" --listen 127.0.0.1:$1 --access-key $SAK --secret-key $SSK \
    --no-access-log >"$OUT/$2.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do curl -fs "http://127.0.0.1:$1/health" >/dev/null && return 0; sleep 0.05; done
  echo "gateway $2 did not come up; see $OUT/$2.log" >&2; exit 1
}
GW1=$(free_port); GW2=$(free_port)
start_gateway $GW1 gw1
start_gateway $GW2 gw2

for s in $SIZES; do
  n=${s%[km]}; u=${s: -1}; [ $u = k ] && bs=1024 || bs=1048576
  head -c $((n * bs)) /dev/urandom > "$OUT/www/obj-$s"
done
declare -A URL
json=$(/usr/bin/python3 bench/load.py "$RGW_ENDPOINT" "$RGW_AK" "$RGW_SK" bench $(ls "$OUT"/www/obj-*))
for s in $SIZES; do URL[rgw,$s]=$(echo "$json" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['obj-$s'])"); done
json=$(/usr/bin/python3 bench/load.py "http://127.0.0.1:$GW1" $SAK $SSK bench $(ls "$OUT"/www/obj-*))
for s in $SIZES; do URL[sluice,$s]=$(echo "$json" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['obj-$s'])"); done
# The second gateway's URL is signed for its own host:port (the object is written again).
json=$(/usr/bin/python3 bench/load.py "http://127.0.0.1:$GW2" $SAK $SSK bench "$OUT/www/obj-4k")
URL[sluice-gw2,4k]=$(echo "$json" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['obj-4k'])")
for t in rgw sluice; do for s in $SIZES; do curl -fs -o /dev/null "${URL[$t,$s]}"; done; done
curl -fs -o /dev/null "${URL[sluice-gw2,4k]}"

echo "{\"kind\":\"meta\",\"date\":\"$(date -u +%FT%TZ)\",\"duration\":\"$D\",\"reps\":$REPS,\"osds\":$RGW_OSDS,\"store\":\"${RGW_STORE:-memstore}\",\"rgw\":\"$(radosgw --version 2>/dev/null | awk '{print $3}')\"}" >> "$RESULTS"

wrk_get() { # TARGET SIZE URL CONNS
  local o rps
  o=$(wrk -t2 -c$4 -d$D --latency "$3" 2>&1)
  if echo "$o" | grep -q Non-2xx; then echo "$1 GET $2: non-2xx answers" >&2; echo "$o" >&2; exit 1; fi
  rps=$(echo "$o" | awk '/Requests\/sec/ {print $2}')
  echo "{\"kind\":\"get\",\"size\":\"$2\",\"conns\":$4,\"target\":\"$1\",\"rps\":$rps}" >> "$RESULTS"
  printf 'GET %-4s c=%-3s %-8s %10s req/s\n' "$2" "$4" "$1" "$rps"
}
for s in $SIZES; do
  c=16; [ $s = 64m ] && c=4
  for r in $(seq $REPS); do
    order=(sluice rgw); [ $((r % 2)) = 0 ] && order=(rgw sluice)
    for t in "${order[@]}"; do wrk_get $t $s "${URL[$t,$s]}" $c; done
  done
done

for s in $SIZES; do
  n=${s%[km]}; u=${s: -1}; [ $u = k ] && bytes=$((n * 1024)) || bytes=$((n * 1048576))
  c=16; [ $s = 64m ] && c=4
  for r in $(seq $REPS); do
    order=(sluice rgw); [ $((r % 2)) = 0 ] && order=(rgw sluice)
    for t in "${order[@]}"; do
      if [ $t = sluice ]; then args=(127.0.0.1 $GW1 bench $SAK $SSK); else args=(127.0.0.1 $RGW_PORT bench "$RGW_AK" "$RGW_SK"); fi
      # Each connection overwrites its own 8 keys: sluice frees what it replaces at once.
      o=$(timeout 120 build/release/bench/put_load "${args[@]}" $bytes $c $PUT_S 8) || { echo "$t PUT $s failed" >&2; exit 1; }
      eval "$(echo "$o" | tr ' ' '\n' | grep -E '^(put_per_s|MiB_per_s|errors)=')"
      echo "{\"kind\":\"put\",\"size\":\"$s\",\"conns\":$c,\"target\":\"$t\",\"rps\":$put_per_s,\"mibps\":$MiB_per_s,\"errors\":$errors}" >> "$RESULTS"
      printf 'PUT %-4s c=%-3s %-8s %10s PUT/s %8s MiB/s errors=%s\n' "$s" "$c" "$t" "$put_per_s" "$MiB_per_s" "$errors"
    done
  done
done

# Two gateways against one: the same 4 KiB object, 16 connections through one gateway, then
# 8 + 8 through two at once (wrk per gateway, summed).
for r in $(seq $REPS); do
  wrk_get sluice-1gw 4k "${URL[sluice,4k]}" 16
  o1=$OUT/two.1; o2=$OUT/two.2
  wrk -t1 -c8 -d$D "${URL[sluice,4k]}" >"$o1" 2>&1 & w1=$!
  wrk -t1 -c8 -d$D "${URL[sluice-gw2,4k]}" >"$o2" 2>&1 & w2=$!
  wait $w1 $w2
  rps=$(cat "$o1" "$o2" | awk '/Requests\/sec/ {s += $2} END {print s}')
  echo "{\"kind\":\"get\",\"size\":\"4k\",\"conns\":16,\"target\":\"sluice-2gw\",\"rps\":$rps}" >> "$RESULTS"
  printf 'GET 4k   c=16  %-10s %10s req/s\n' sluice-2gw "$rps"
done

# Listing: buckets of N empty objects, filled through S3 by the same PUT load on both (the
# same names: put/cC/oN), then a whole ListObjectsV2 walk in pages of 1,000 and the first
# page's latency (median of 20).
for n in $LIST_KEYS; do
  for t in sluice rgw; do
    if [ $t = sluice ]; then host=127.0.0.1; port=$GW1; ak=$SAK; sk=$SSK; else host=127.0.0.1; port=$RGW_PORT; ak=$RGW_AK; sk=$RGW_SK; fi
    b=list$n
    /usr/bin/python3 -c 'import boto3,sys; boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2],
      aws_secret_access_key=sys.argv[3], region_name="us-east-1").create_bucket(Bucket=sys.argv[4])' \
      "http://$host:$port" "$ak" "$sk" $b
    timeout 1800 build/release/bench/put_load $host $port $b "$ak" "$sk" 0 32 1800 $(( n / 32 )) once >/dev/null
    # The first walk after the fill (nothing of the bucket in any cache of sluice's), then
    # the same walk again (a data set listed once per epoch, or by every loader worker).
    o=$(build/release/bench/s3_bench list $host $port "$ak" "$sk" $b "" "" 1000)
    eval "$(echo "$o" | tr ' ' '\n' | grep -E '^(keys|seconds|keys_per_s|first_page_ms)=')"
    o=$(build/release/bench/s3_bench list $host $port "$ak" "$sk" $b "" "" 1000)
    again=$(echo "$o" | tr ' ' '\n' | sed -n 's/^keys_per_s=//p')
    p=$(build/release/bench/s3_bench get $host $port "$ak" "$sk" "/$b" "list-type=2&max-keys=1000" 20)
    eval "$(echo "$p" | tr ' ' '\n' | grep -E '^(median_ms)=')"
    echo "{\"kind\":\"list\",\"size\":\"$n\",\"target\":\"$t\",\"keys\":$keys,\"seconds\":$seconds,\"keys_per_s\":$keys_per_s,\"again_keys_per_s\":$again,\"first_page_ms\":$first_page_ms,\"page_ms\":$median_ms}" >> "$RESULTS"
    printf 'LIST %-7s %-7s keys=%-7s walk %8ss (%s keys/s, again %s) first page %s ms, page %8s ms\n' "$n" "$t" "$keys" "$seconds" "$keys_per_s" "$again" "$first_page_ms" "$median_ms"
  done
done

/usr/bin/python3 - "$RESULTS" > "$MD" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
meta = next(r for r in rows if r["kind"] == "meta")
def med(kind, size, target, field="rps"):
    v = [r[field] for r in rows if r["kind"] == kind and r["size"] == size and r["target"] == target]
    return (statistics.median(v), min(v), max(v)) if v else None
print("## sluice gateways and RGW on one RADOS cluster (issue #18)\n")
print(f"Run {meta['date']} by `bench/rados.sh`: {meta['osds']} {meta['store']} OSD(s) from "
      f"`../shared/peers/rgw-up.sh`, RGW {meta['rgw']} and sluice gateways on the same cluster as "
      f"the same Ceph client, pools at the cluster's defaults; wrk {meta['duration']} per run, "
      f"{meta['reps']} runs each with the order alternated; median (min-max).\n")
print("| request | conns | sluice | RGW | sluice / RGW |\n|---|---|---|---|---|")
for kind in ("get", "put"):
    for size in ("4k", "1m", "64m"):
        s, g = med(kind, size, "sluice"), med(kind, size, "rgw")
        if not s or not g: continue
        c = next(r["conns"] for r in rows if r["kind"] == kind and r["size"] == size)
        unit = "req/s" if kind == "get" else "PUT/s"
        print(f"| {kind.upper()} {size} | {c} | {s[0]:,.0f} ({s[1]:,.0f}-{s[2]:,.0f}) {unit} | "
              f"{g[0]:,.0f} ({g[1]:,.0f}-{g[2]:,.0f}) | **{s[0] / g[0]:.2f}** |")
one, two = med("get", "4k", "sluice-1gw"), med("get", "4k", "sluice-2gw")
if one and two:
    print(f"\nTwo gateways against one, GET 4 KiB, 16 connections in all: one {one[0]:,.0f} req/s, "
          f"two {two[0]:,.0f} req/s (**{two[0] / one[0]:.2f}×**).")
lists = [r for r in rows if r["kind"] == "list"]
if lists:
    print("\nListings in pages of 1,000: the first walk after the fill, the same walk again, the "
          "first page of the first walk, and the first page asked 20 times (median).\n")
    print("| bucket | target | first walk (keys/s) | walk again (keys/s) | first page (ms) | page, repeated (ms) | sluice / RGW: first walk | again | page, repeated |\n|---|---|---|---|---|---|---|---|---|")
    for n in sorted({r["size"] for r in lists}, key=int):
        s = next(r for r in lists if r["size"] == n and r["target"] == "sluice")
        g = next(r for r in lists if r["size"] == n and r["target"] == "rgw")
        for r in (s, g):
            ratio = (f"**{s['keys_per_s'] / g['keys_per_s']:.2f}** | **{s['again_keys_per_s'] / g['again_keys_per_s']:.2f}** | "
                     f"**{g['page_ms'] / s['page_ms']:.2f}**") if r is s else " | | "
            print(f"| {int(n):,} keys | {r['target']} | {r['keys_per_s']:,.0f} | {r['again_keys_per_s']:,.0f} | "
                  f"{r['first_page_ms']:.1f} | {r['page_ms']:.1f} | {ratio} |")
EOF
echo "wrote $MD"
