#!/usr/bin/env bash
# Encryption at rest (docs/encryption.md): GET and PUT of SSE-S3 objects against plain ones
# on one sluice, back to back, alternating, ROUNDS times. GETs by wrk over presigned URLs
# (objects of a bucket with default encryption and of one without); PUTs by put_load into
# each bucket. Prints one line per measurement and the encrypted/plain ratio of medians.
# usage: bench/sse_bench.sh [ROUNDS] [SECONDS]   (defaults 3, 5)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}; SECS=${2:-5}
OUT=$(mktemp -d /tmp/sse-bench.XXXXXX)
BIN=build/release/src/sluice
[ -x "$BIN" ] && [ -x build/release/bench/put_load ] ||
  { echo "build first: ninja -C build/release sluice put_load" >&2; exit 1; }
AK=ssebenchkey; SK=ssebenchsecret0123456789
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" server --data "$OUT/data" --listen 127.0.0.1:$PORT --access-key $AK --secret-key $SK \
  --no-access-log > "$OUT/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$OUT" "$OUT.sse-keys" "$OUT/data.iam-key" "$OUT/data.sse-keys"' EXIT
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.05; done
for s in 4k 64k 1m 64m; do
  n=${s%[km]}; u=${s: -1}; [ $u = k ] && bs=1024 || bs=1048576
  head -c $((n * bs)) /dev/urandom > "$OUT/obj-$s"
done
/usr/bin/python3 - "$PORT" $AK $SK <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", aws_access_key_id=sys.argv[2],
                  aws_secret_access_key=sys.argv[3], region_name="us-east-1")
for b in ("plain", "enc"):
    s3.create_bucket(Bucket=b)
s3.put_bucket_encryption(Bucket="enc", ServerSideEncryptionConfiguration={
    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
PY
declare -A URL
for b in plain enc; do
  json=$(/usr/bin/python3 bench/load.py "http://127.0.0.1:$PORT" $AK $SK $b "$OUT"/obj-*)
  for s in 4k 64k 1m 64m; do
    URL[$b,$s]=$(echo "$json" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['obj-$s'])")
  done
done
results=$OUT/results
for s in 4k 64k 1m 64m; do for r in $(seq "$ROUNDS"); do
  for b in plain enc; do
    o=$(wrk -t2 -c16 -d${SECS}s "${URL[$b,$s]}" 2>&1)
    echo "$o" | grep -q Non-2xx && { echo "$b $s: non-2xx" >&2; echo "$o" >&2; exit 1; }
    rps=$(echo "$o" | awk '/Requests\/sec/ {print $2}')
    echo "GET $s $b $rps" | tee -a "$results"
  done
done; done
for size in 4096 1048576; do for r in $(seq "$ROUNDS"); do
  for b in plain enc; do
    o=$(build/release/bench/put_load 127.0.0.1 $PORT $b $AK $SK $size 16 $SECS)
    rps=$(echo "$o" | tr ' ' '\n' | awk -F= '$1=="put_per_s" {print $2}')
    echo "PUT $size $b $rps" | tee -a "$results"
  done
done; done
/usr/bin/python3 - "$results" <<'PY'
import statistics, sys, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    op, size, b, v = line.split()
    rows[(op, size, b)].append(float(v))
print("\n| op | size | plain (median/s) | SSE-S3 (median/s) | SSE-S3 / plain | spread of the ratio |")
print("|---|---|---|---|---|---|")
for (op, size, b) in sorted(rows):
    if b != "plain":
        continue
    p, e = rows[(op, size, "plain")], rows[(op, size, "enc")]
    ratios = [x / y for x, y in zip(e, p)]
    print(f"| {op} | {size} | {statistics.median(p):,.0f} | {statistics.median(e):,.0f} | "
          f"{statistics.median(e) / statistics.median(p):.2f} | {min(ratios):.2f}–{max(ratios):.2f} |")
PY
