#!/usr/bin/env bash
# Listing packs of the RADOS index (issue #18; docs/rados.md, "Listing packs"): the same
# bucket filled and listed by a gateway that keeps no packs (--ceph-pack-keys 0) and by one
# that keeps them (the default, 512), each in its own pools, on one dev cluster
# (scripts/ceph-dev.sh, one memstore OSD unless CEPH_DEV_OSDS says otherwise), alternated
# ROUNDS times.
#   bench/packs_bench.sh      KEYS (default 100000) empty objects written by 32 connections;
#                             then a first ListObjectsV2 walk in pages of 1,000 (nothing in
#                             the gateway's memory yet), and a walk again
# Knobs: KEYS, ROUNDS (default 2), SHARD_KEYS (default 100000, the server's).
# Prints one line per fill and walk; writes bench/out/packs/packs.jsonl.
# Starts only loopback servers and its own cluster, and stops what it started on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=${KEYS:-100000}; SHARD_KEYS=${SHARD_KEYS:-100000}; ROUNDS=${ROUNDS:-2}
OUT=$PWD/bench/out/packs; rm -rf "$OUT"; mkdir -p "$OUT"
RESULTS=$OUT/packs.jsonl; : > "$RESULTS"
cmake --build build/release --target sluice put_load s3_bench >/dev/null

NAME=packs-bench; source bench/ceph_dev_bench.sh

start_gateway() { # PORT POOL PACK_KEYS
  build/release/src/sluice server --ceph-conf "$CONF" --ceph-pool "$2" --gateway-name "$2" \
    --iam-key-file "$OUT/iam-key.$2" --listen 127.0.0.1:$1 --access-key $AK --secret-key $SK \
    --ceph-shard-keys "$SHARD_KEYS" --ceph-pack-keys "$3" --no-access-log >"$OUT/$2.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do curl -fs "http://127.0.0.1:$1/health" >/dev/null && return 0; sleep 0.05; done
  echo "gateway $2 did not come up; see $OUT/$2.log" >&2; exit 1
}
P1=$(free_port); P2=$(free_port)
start_gateway $P1 flat 0
start_gateway $P2 packed 512
declare -A PORT=([flat]=$P1 [packed]=$P2)

shards_of() { # POOL BUCKET
  rados -c "$CONF" -p "$1.meta" ls | grep -cE "^bucket\.$2(\.|$)"
}

for r in $(seq "$ROUNDS"); do
  order="flat packed"; [ $((r % 2)) = 0 ] && order="packed flat"
  for t in $order; do
    port=${PORT[$t]}; b=walk$r
    /usr/bin/python3 -c 'import boto3,sys; boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2],
      aws_secret_access_key=sys.argv[3], region_name="us-east-1").create_bucket(Bucket=sys.argv[4])' \
      "http://127.0.0.1:$port" $AK $SK $b
    fill=$(timeout 1800 build/release/bench/put_load 127.0.0.1 $port $b $AK $SK 0 32 1800 $((KEYS / 32)) once)
    puts=$(echo "$fill" | tr ' ' '\n' | sed -n 's/^put_per_s=//p')
    p99=$(echo "$fill" | tr ' ' '\n' | sed -n 's/^p99_ms=//p')
    errors=$(echo "$fill" | tr ' ' '\n' | sed -n 's/^errors=//p')
    sleep 3  # the pack checks queued by the last commits
    n=$(shards_of $t $b)
    packs=$(rados -c "$CONF" -p "$t.meta" listomapkeys "bucket.$b" | LC_ALL=C grep -ac '^!k[0-9a-f]\{16\}/' || true)
    deltas=$(rados -c "$CONF" -p "$t.meta" listomapkeys "bucket.$b" | LC_ALL=C grep -ac '^!d[0-9a-f]\{16\}/' || true)
    o=$(build/release/bench/s3_bench list 127.0.0.1 $port $AK $SK $b "" "" 1000)
    keys=$(echo "$o" | tr ' ' '\n' | sed -n 's/^keys=//p')
    first=$(echo "$o" | tr ' ' '\n' | sed -n 's/^keys_per_s=//p')
    page=$(echo "$o" | tr ' ' '\n' | sed -n 's/^first_page_ms=//p')
    o=$(build/release/bench/s3_bench list 127.0.0.1 $port $AK $SK $b "" "" 1000)
    again=$(echo "$o" | tr ' ' '\n' | sed -n 's/^keys_per_s=//p')
    echo "{\"round\":$r,\"gateway\":\"$t\",\"shards\":$n,\"packs\":$packs,\"deltas\":$deltas,\"puts_per_s\":$puts,\"put_p99_ms\":$p99,\"errors\":$errors,\"keys\":$keys,\"walk_keys_per_s\":$first,\"first_page_ms\":$page,\"again_keys_per_s\":$again}" >> "$RESULTS"
    printf 'round %s %-6s shards=%-3s packs=%-4s deltas=%-5s fill %s PUT/s (p99 %s ms, errors %s)  walk of %s keys: %s keys/s (first page %s ms), again %s keys/s\n' \
      "$r" "$t" "$n" "$packs" "$deltas" "$puts" "$p99" "$errors" "$keys" "$first" "$page" "$again"
  done
done
