#!/bin/bash
# What versioning costs (issue #17), in one run on loopback, sluice next to Ceph RGW:
#   - PUT 4 KiB (new keys, and overwrites of 16 keys per connection) and GET 4 KiB
#     (presigned, the latest of 3 versions), on a versioned and an unversioned bucket;
#   - ListObjectsV2 walks over 100,000 keys with 10 versions each and with 1 version;
#   - ListObjectVersions of one key with 1,000,000 versions: the first page and a middle
#     page (key-marker + version-id-marker), next to a key with 1,000 versions, and RGW's
#     pages of a key with 1,000 versions.
# Writes bench/out/versions-<time>/results.jsonl and prints a markdown summary.
# usage: bench/versions_bench.sh [--quick]   (--quick: 2 s runs, 1 rep, 10x smaller listings)
set -euo pipefail
cd "$(dirname "$0")/.."
QUICK=0; [ "${1:-}" = --quick ] && QUICK=1
D=${BENCH_SECONDS:-$([ $QUICK = 1 ] && echo 2 || echo 8)}; REPS=${BENCH_REPS:-$([ $QUICK = 1 ] && echo 1 || echo 3)}
LIST_KEYS=$([ $QUICK = 1 ] && echo 10000 || echo 100000); HOT=$([ $QUICK = 1 ] && echo 100000 || echo 1000000)
OUT=bench/out/versions-$(date -u +%Y%m%dT%H%M%SZ); mkdir -p "$OUT/www"; RESULTS=$OUT/results.jsonl
PEERS=$(cd .. && pwd)/shared/peers; [ -d "$PEERS" ] || PEERS=""
cmake --build build/release --target sluice put_load s3_bench seed_keys >/dev/null
head -c 4096 /dev/urandom > "$OUT/www/obj-4k"

pids=(); started_peers=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  for s in "${started_peers[@]}"; do "$PEERS/$s-down.sh" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
url_of() { /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['obj-4k'])"; }
declare -A URL HOSTPORT AK SK

SAK=benchaccesskey; SSK=benchsecretkey0123456789
PORT=$(free_port)
build/release/src/sluice server --data "$OUT/data" --listen 127.0.0.1:$PORT --access-key $SAK \
  --secret-key $SSK --no-access-log --lifecycle-interval 0 >"$OUT/sluice.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.05; done
HOSTPORT[sluice]="127.0.0.1 $PORT"; AK[sluice]=$SAK; SK[sluice]=$SSK; EP[0]=""
targets=(sluice)
if [ "${BENCH_RGW:-1}" = 1 ] && [ -n "$PEERS" ] && rgw_env=$("$PEERS/rgw-up.sh" 2>"$OUT/rgw-up.log"); then
  eval "$rgw_env"; started_peers+=(rgw); targets+=(rgw)
  HOSTPORT[rgw]="127.0.0.1 ${RGW_ENDPOINT##*:}"; AK[rgw]=$AWS_ACCESS_KEY_ID; SK[rgw]=$AWS_SECRET_ACCESS_KEY
else
  echo "RGW not run (see $OUT/rgw-up.log)" >&2
fi
endpoint() { echo "http://${HOSTPORT[$1]/ /:}"; }

for t in "${targets[@]}"; do
  URL[$t,off]=$(/usr/bin/python3 bench/load.py "$(endpoint $t)" "${AK[$t]}" "${SK[$t]}" vb-off "$OUT/www/obj-4k" | url_of)
  URL[$t,on]=$(VERSIONING=Enabled /usr/bin/python3 bench/load.py "$(endpoint $t)" "${AK[$t]}" "${SK[$t]}" vb-on "$OUT/www/obj-4k" | url_of)
  for v in off on; do curl -fs -o /dev/null "${URL[$t,$v]}"; done
done

for r in $(seq $REPS); do
  for t in "${targets[@]}"; do for v in off on; do
    # GET 4 KiB, 16 connections.
    o=$(wrk -t2 -c16 -d${D}s "${URL[$t,$v]}" 2>&1)
    rps=$(echo "$o" | awk '/Requests\/sec/ {print $2}')
    echo "{\"kind\":\"get\",\"target\":\"$t\",\"versioning\":\"$v\",\"rps\":${rps:-0}}" >> "$RESULTS"
    # PUT 4 KiB, 16 connections: new keys, then overwrites of 16 keys per connection.
    for keys in 0 16; do
      o=$(build/release/bench/put_load ${HOSTPORT[$t]} vb-$v "${AK[$t]}" "${SK[$t]}" 4096 16 $D $keys) || { echo "$t PUT failed" >&2; continue; }
      rps=$(echo "$o" | sed -n 's/.*put_per_s=\([0-9.]*\).*/\1/p')
      echo "{\"kind\":\"put\",\"keys\":\"$([ $keys = 0 ] && echo new || echo overwrite)\",\"target\":\"$t\",\"versioning\":\"$v\",\"rps\":${rps:-0}}" >> "$RESULTS"
    done
  done; done
done

# Listings: a second sluice on an index seeded offline (bench/seed_keys.cc).
mkdir -p "$OUT/data-list"
build/release/bench/seed_keys "$OUT/data-list" flat $((LIST_KEYS / 1000)) 1000 >/dev/null
build/release/bench/seed_keys "$OUT/data-list" tenver $((LIST_KEYS / 1000)) 1000 10 >/dev/null
MID_HOT=$(build/release/bench/seed_keys "$OUT/data-list" hot 1 1 $HOT | sed -n 's/^middle=//p')
MID_WARM=$(build/release/bench/seed_keys "$OUT/data-list" warm 1 1 1000 | sed -n 's/^middle=//p')
LPORT=$(free_port)
build/release/src/sluice server --data "$OUT/data-list" --listen 127.0.0.1:$LPORT --access-key $SAK \
  --secret-key $SSK --no-access-log --lifecycle-interval 0 >"$OUT/sluice-list.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do curl -fs "http://127.0.0.1:$LPORT/health" >/dev/null && break; sleep 0.05; done
K=p00000/k00000
for r in $(seq $REPS); do
  for b in flat tenver; do
    o=$(build/release/bench/s3_bench list 127.0.0.1 $LPORT $SAK $SSK $b "" "" 1000)
    kps=$(echo "$o" | sed -n 's/.*keys_per_s=\([0-9.]*\).*/\1/p'); keys=$(echo "$o" | sed -n 's/^keys=\([0-9]*\).*/\1/p')
    echo "{\"kind\":\"list\",\"bucket\":\"$b\",\"keys\":$keys,\"keys_per_s\":$kps}" >> "$RESULTS"
  done
  for b in hot warm; do
    mid=$([ $b = hot ] && echo $MID_HOT || echo $MID_WARM)
    for page in first middle; do
      q="versions=&max-keys=1000"; [ $page = middle ] && q="$q&key-marker=$K&version-id-marker=$mid"
      o=$(build/release/bench/s3_bench get 127.0.0.1 $LPORT $SAK $SSK /$b "$q" 50)
      med=$(echo "$o" | sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p')
      echo "{\"kind\":\"versions\",\"target\":\"sluice\",\"bucket\":\"$b\",\"page\":\"$page\",\"median_ms\":$med}" >> "$RESULTS"
    done
  done
done
# The same 1,000-version pages through boto3 on sluice and on RGW (RGW answers listings
# chunked, which s3_bench does not read): both pay boto3's parsing, so the ratio holds.
for t in "${targets[@]}"; do
  [ $t = sluice ] && ep="http://127.0.0.1:$LPORT" ak=$SAK sk=$SSK || { ep=$(endpoint rgw); ak=${AK[rgw]}; sk=${SK[rgw]}; }
  /usr/bin/python3 - "$ep" "$ak" "$sk" "$t" "$REPS" >> "$RESULTS" <<'PY'
import json, statistics, sys, time, boto3, concurrent.futures
from botocore.config import Config
ep, ak, sk, target, reps = sys.argv[1:]
s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id=ak, aws_secret_access_key=sk, region_name="us-east-1",
                  config=Config(s3={"addressing_style": "path"}, max_pool_connections=16))
key = "p00000/k00000"
if target != "sluice":  # sluice's "warm" bucket was seeded offline
    s3.create_bucket(Bucket="warm")
    s3.put_bucket_versioning(Bucket="warm", VersioningConfiguration={"Status": "Enabled"})
    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        list(ex.map(lambda i: s3.put_object(Bucket="warm", Key=key, Body=b""), range(1000)))
mid = s3.list_object_versions(Bucket="warm", MaxKeys=500)["NextVersionIdMarker"]
for _ in range(int(reps)):
    for page, kw in (("first", {}), ("middle", {"KeyMarker": key, "VersionIdMarker": mid})):
        ms = []
        for _ in range(20):
            t0 = time.perf_counter()
            r = s3.list_object_versions(Bucket="warm", MaxKeys=1000, **kw)
            ms.append((time.perf_counter() - t0) * 1000)
        print(json.dumps({"kind": "versions-boto3", "target": target, "bucket": "warm", "page": page,
                          "median_ms": statistics.median(ms), "entries": len(r.get("Versions", []))}))
PY
done

/usr/bin/python3 - "$RESULTS" "$LIST_KEYS" "$HOT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def med(f):
    v = [r for r in rows if f(r)]
    return statistics.median(x.get("rps", x.get("keys_per_s", x.get("median_ms"))) for x in v) if v else None
print(f"| measure | target | unversioned | versioned | versioned / unversioned |\n|---|---|---|---|---|")
for t in ("sluice", "rgw"):
    for kind, label, extra in (("get", "GET 4 KiB req/s", {}), ("put", "PUT 4 KiB new keys req/s", {"keys": "new"}),
                               ("put", "PUT 4 KiB overwrites req/s", {"keys": "overwrite"})):
        a = med(lambda r: r["kind"] == kind and r.get("target") == t and r["versioning"] == "off" and all(r.get(k) == v for k, v in extra.items()))
        b = med(lambda r: r["kind"] == kind and r.get("target") == t and r["versioning"] == "on" and all(r.get(k) == v for k, v in extra.items()))
        if a and b: print(f"| {label} | {t} | {a:,.0f} | {b:,.0f} | {b / a:.3f} |")
a = med(lambda r: r["kind"] == "list" and r["bucket"] == "flat"); b = med(lambda r: r["kind"] == "list" and r["bucket"] == "tenver")
if a and b: print(f"| ListObjectsV2 walk of {int(sys.argv[2]):,} keys, keys/s (versioned: 10 versions each) | sluice | {a:,.0f} | {b:,.0f} | {b / a:.3f} |")
print("\n| ListObjectVersions page (1,000 entries), median ms | first page | middle page |\n|---|---|---|")
for t, b, label in (("sluice", "hot", f"sluice, one key with {int(sys.argv[3]):,} versions"), ("sluice", "warm", "sluice, one key with 1,000 versions"),
                    ("sluice", "warm-boto3", "sluice, 1,000 versions, through boto3"),
                    ("rgw", "warm-boto3", "Ceph RGW, 1,000 versions, through boto3")):
    kind = "versions-boto3" if b.endswith("-boto3") else "versions"
    bb = b.removesuffix("-boto3")
    f = med(lambda r: r["kind"] == kind and r["target"] == t and r["bucket"] == bb and r["page"] == "first")
    m = med(lambda r: r["kind"] == kind and r["target"] == t and r["bucket"] == bb and r["page"] == "middle")
    if f: print(f"| {label} | {f:.2f} | {m:.2f} |")
PY
echo "results: $RESULTS"
