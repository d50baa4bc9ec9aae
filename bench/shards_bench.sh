#!/usr/bin/env bash
# Range shards of the RADOS index (issue #18; docs/rados.md, "Range shards"): the same bucket
# filled and listed by a gateway whose buckets stay one shard and by one whose buckets split
# past SHARD_KEYS entries, on one dev cluster (scripts/ceph-dev.sh, one memstore OSD unless
# CEPH_DEV_OSDS says otherwise), alternated ROUNDS times.
#   bench/shards_bench.sh     KEYS (default 100000) empty objects written by 32 connections,
#                             then a ListObjectsV2 walk in pages of 1,000, twice
# Knobs: KEYS, SHARD_KEYS (default 20000), ROUNDS (default 2).
# Prints one line per fill and walk; writes bench/out/shards/shards.jsonl.
# Starts only loopback servers and its own cluster, and stops what it started on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS=${KEYS:-100000}; SHARD_KEYS=${SHARD_KEYS:-20000}; ROUNDS=${ROUNDS:-2}
OUT=$PWD/bench/out/shards; rm -rf "$OUT"; mkdir -p "$OUT"
RESULTS=$OUT/shards.jsonl; : > "$RESULTS"
cmake --build build/release --target sluice put_load s3_bench >/dev/null

NAME=shards-bench; source bench/ceph_dev_bench.sh

start_gateway() { # PORT POOL SHARD_KEYS
  build/release/src/sluice server --ceph-conf "$CONF" --ceph-pool "$2" --gateway-name "$2" \
    --iam-key-file "$OUT/iam-key.$2" --listen 127.0.0.1:$1 --access-key $AK --secret-key $SK \
    --ceph-shard-keys "$3" --no-access-log >"$OUT/$2.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do curl -fs "http://127.0.0.1:$1/health" >/dev/null && return 0; sleep 0.05; done
  echo "gateway $2 did not come up; see $OUT/$2.log" >&2; exit 1
}
P1=$(free_port); P2=$(free_port)
start_gateway $P1 one 10000000
start_gateway $P2 split "$SHARD_KEYS"
declare -A PORT=([one]=$P1 [split]=$P2)

shards_of() { # POOL BUCKET
  rados -c "$CONF" -p "$1.meta" ls | grep -cE "^bucket\.$2(\.|$)"
}

for r in $(seq "$ROUNDS"); do
  order="one split"; [ $((r % 2)) = 0 ] && order="split one"
  for t in $order; do
    port=${PORT[$t]}; b=walk$r
    /usr/bin/python3 -c 'import boto3,sys; boto3.client("s3", endpoint_url=sys.argv[1], aws_access_key_id=sys.argv[2],
      aws_secret_access_key=sys.argv[3], region_name="us-east-1").create_bucket(Bucket=sys.argv[4])' \
      "http://127.0.0.1:$port" $AK $SK $b
    fill=$(timeout 1800 build/release/bench/put_load 127.0.0.1 $port $b $AK $SK 0 32 1800 $((KEYS / 32)) once)
    puts=$(echo "$fill" | tr ' ' '\n' | sed -n 's/^put_per_s=//p')
    p99=$(echo "$fill" | tr ' ' '\n' | sed -n 's/^p99_ms=//p')
    errors=$(echo "$fill" | tr ' ' '\n' | sed -n 's/^errors=//p')
    sleep 2  # a split queued by the last commits
    n=$(shards_of $t $b)
    o=$(build/release/bench/s3_bench list 127.0.0.1 $port $AK $SK $b "" "" 1000)
    keys=$(echo "$o" | tr ' ' '\n' | sed -n 's/^keys=//p')
    first=$(echo "$o" | tr ' ' '\n' | sed -n 's/^keys_per_s=//p')
    o=$(build/release/bench/s3_bench list 127.0.0.1 $port $AK $SK $b "" "" 1000)
    again=$(echo "$o" | tr ' ' '\n' | sed -n 's/^keys_per_s=//p')
    echo "{\"round\":$r,\"gateway\":\"$t\",\"shards\":$n,\"puts_per_s\":$puts,\"put_p99_ms\":$p99,\"errors\":$errors,\"keys\":$keys,\"walk_keys_per_s\":$first,\"again_keys_per_s\":$again}" >> "$RESULTS"
    printf 'round %s %-5s shards=%-3s fill %s PUT/s (p99 %s ms, errors %s)  walk of %s keys: %s keys/s, again %s keys/s\n' \
      "$r" "$t" "$n" "$puts" "$p99" "$errors" "$keys" "$first" "$again"
  done
done
