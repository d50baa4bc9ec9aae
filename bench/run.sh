#!/usr/bin/env bash
# The benchmark harness: sluice next to nginx (the speed of light for a file GET) and
# Ceph RGW, all on loopback, the same objects and the same load, back to back, repeated.
#   bench/run.sh           full run: writes BENCHMARKS.md
#   bench/run.sh --quick   under a minute; writes bench/out/quick.md (CI keeps it working)
#   bench/run.sh --get     the GET tables only (every size, both logs, HTTPS), full length;
#                          writes bench/out/get.md and leaves BENCHMARKS.md alone
# Knobs: BENCH_RGW=0 skips RGW; RGW_STORE=bluestore for the disk-backed RGW (PUT).
# Starts only loopback servers, stops everything it started (by pid) on exit.
set -euo pipefail
# A step that fails says which, even when its own output went elsewhere.
trap 'echo "bench/run.sh: line $LINENO: exit status $? from: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
ROOT=$PWD
PEERS=$(realpath "$ROOT/../shared/peers" 2>/dev/null || true)
QUICK=0; [ "${1:-}" = "--quick" ] && QUICK=1
GET_ONLY=0; [ "${1:-}" = "--get" ] && GET_ONLY=1
OUT=$ROOT/bench/out; rm -rf "$OUT"; mkdir -p "$OUT/www"
RESULTS=$OUT/results.jsonl; : > "$RESULTS"
if [ $QUICK = 1 ]; then D=2s; REPS=1; SIZES="4k 1m"; CONNS="16"; PUT_SIZES="4k"; PUT_S=2
else D=${BENCH_DURATION:-5s}; REPS=${BENCH_REPS:-3}; SIZES="4k 64k 1m 64m"; CONNS="16 256"; PUT_SIZES="4k 1m 64m"; PUT_S=8; fi

scripts/install-deps.sh --test >/dev/null
# Reuses build/release as it is configured (scripts/test.sh builds it with tests on); a new one
# leaves tests off, which needs none of the test packages.
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release \
  $([ -f build/release/CMakeCache.txt ] || echo -DSLUICE_TESTS=OFF) >/dev/null
cmake --build build/release --target sluice put_load s3_bench seed_keys md5_lanes >/dev/null
ulimit -n 65536 2>/dev/null || ulimit -n 8192 2>/dev/null || true  # 1000-connection scenarios

# MD5: OpenSSL's one stream against the lane-parallel hash (src/common/md5.h) of 1-16 streams.
build/release/bench/md5_lanes $([ $QUICK = 1 ] && echo 16 || echo 128) >> "$RESULTS"

for s in $SIZES; do
  n=${s%[km]}; u=${s: -1}; [ $u = k ] && bs=1024 || bs=1048576
  head -c $((n * bs)) /dev/urandom > "$OUT/www/obj-$s"
done

pids=(); started_peers=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  for s in "${started_peers[@]}"; do "$PEERS/$s-down.sh" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

declare -A URL
NGINX_PORT=$(free_port)
if [ -n "$PEERS" ] && [ -x "$PEERS/nginx-up.sh" ]; then
  if "$PEERS/nginx-up.sh" "$OUT/www" "$NGINX_PORT" >/dev/null 2>"$OUT/nginx-up.log"; then
    started_peers+=(nginx)
    for s in $SIZES; do URL[nginx,$s]="http://127.0.0.1:$NGINX_PORT/obj-$s"; done
  else
    echo "nginx did not come up; see $OUT/nginx-up.log (continuing without it)" >&2
  fi
fi
RGW_ON=0
if [ "${BENCH_RGW:-1}" = 1 ] && [ -n "$PEERS" ] && [ -x "$PEERS/rgw-up.sh" ]; then
  if rgw_env=$("$PEERS/rgw-up.sh" 2>"$OUT/rgw-up.log"); then
    eval "$rgw_env"; started_peers+=(rgw); RGW_ON=1
    RGW_AK=$AWS_ACCESS_KEY_ID; RGW_SK=$AWS_SECRET_ACCESS_KEY
    json=$(/usr/bin/python3 bench/load.py "$RGW_ENDPOINT" "$RGW_AK" "$RGW_SK" bench $(ls "$OUT"/www/obj-*))
    for s in $SIZES; do URL[rgw,$s]=$(echo "$json" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['obj-$s'])"); done
  else
    echo "RGW did not come up; see $OUT/rgw-up.log (continuing without it)" >&2
  fi
fi

# sluice as users run it: the default configuration, whose access log goes to standard
# error (here a file), one line per request. sluice-nolog is the same with --no-access-log,
# against the peer nginx, whose log is off: the pair with both logs off.
SAK=benchaccesskey; SSK=benchsecretkey0123456789
for t in sluice sluice-nolog; do
  port=$(free_port)
  build/release/src/sluice server --data "$OUT/data-$t" --listen 127.0.0.1:$port --access-key $SAK \
    --secret-key $SSK $([ $t = sluice-nolog ] && echo --no-access-log) >"$OUT/$t.log" 2>&1 &
  pids+=($!); [ $t = sluice ] && { SLUICE_PID=$!; SLUICE_PORT=$port; }
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.05; done
  json=$(/usr/bin/python3 bench/load.py "http://127.0.0.1:$port" $SAK $SSK bench $(ls "$OUT"/www/obj-*))
  for s in $SIZES; do URL[$t,$s]=$(echo "$json" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['obj-$s'])"); done
done

# The same server over HTTPS (a throwaway CA and certificate), to price TLS on the GET path.
mkdir -p "$OUT/tls"
( cd "$OUT/tls"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 1 -subj "/CN=bench CA"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr -subj "/CN=127.0.0.1"
  echo "subjectAltName=IP:127.0.0.1" > san.ext
  openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem -days 1 -extfile san.ext ) >/dev/null 2>&1
TLS_PORT=$(free_port)
build/release/src/sluice server --data "$OUT/data-tls" --listen 127.0.0.1:$TLS_PORT --access-key $SAK \
  --secret-key $SSK --tls-cert "$OUT/tls/srv.pem" --tls-key "$OUT/tls/srv.key" >"$OUT/sluice-tls.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fs --cacert "$OUT/tls/ca.pem" "https://127.0.0.1:$TLS_PORT/health" >/dev/null && break; sleep 0.05; done
json=$(AWS_CA_BUNDLE="$OUT/tls/ca.pem" /usr/bin/python3 bench/load.py "https://127.0.0.1:$TLS_PORT" $SAK $SSK bench $(ls "$OUT"/www/obj-*))
for s in $SIZES; do URL[sluice-tls,$s]=$(echo "$json" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['obj-$s'])"); done

# nginx configured by the bench, as nginx users run it: the peer's tuning (sendfile,
# tcp_nopush, open_file_cache, one worker per core) with its access log on, buffered
# (buffer=64k flush=1s), over HTTP, and over HTTPS with sluice's certificate, key and
# protocols (TLS 1.2 and 1.3; OpenSSL's defaults pick the cipher on both sides).
NGX=$OUT/nginx-bench; mkdir -p "$NGX/tmp"
NGINX_LOG_PORT=$(free_port); NGINX_TLS_PORT=$(free_port)
cat > "$NGX/nginx.conf" <<CONF
worker_processes auto;
user root;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events { worker_connections 16384; multi_accept on; use epoll; }
http {
    server_tokens off;
    sendfile on;
    sendfile_max_chunk 0;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 75s;
    keepalive_requests 10000000;
    open_file_cache max=100000 inactive=60s;
    open_file_cache_valid 60s;
    open_file_cache_min_uses 1;
    types { }
    default_type application/octet-stream;
    client_body_temp_path $NGX/tmp/body; proxy_temp_path $NGX/tmp/proxy;
    fastcgi_temp_path $NGX/tmp/fastcgi; uwsgi_temp_path $NGX/tmp/uwsgi; scgi_temp_path $NGX/tmp/scgi;
    access_log $NGX/access.log combined buffer=64k flush=1s;
    server { listen 127.0.0.1:$NGINX_LOG_PORT reuseport; root $OUT/www; }
    server {
        listen 127.0.0.1:$NGINX_TLS_PORT ssl reuseport;
        ssl_certificate $OUT/tls/srv.pem;
        ssl_certificate_key $OUT/tls/srv.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_cache shared:SSL:10m;
        root $OUT/www;
    }
}
CONF
if command -v nginx >/dev/null && nginx -t -c "$NGX/nginx.conf" -g 'daemon off;' >"$NGX/test.log" 2>&1; then
  nginx -c "$NGX/nginx.conf" -g 'daemon off;' >"$NGX/out.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$NGINX_LOG_PORT/obj-4k" && break; sleep 0.05; done
  for s in $SIZES; do
    URL[nginx-log,$s]="http://127.0.0.1:$NGINX_LOG_PORT/obj-$s"; URL[nginx-tls,$s]="https://127.0.0.1:$NGINX_TLS_PORT/obj-$s"
  done
else
  echo "the bench's own nginx did not start; see $NGX/test.log (continuing without it)" >&2
fi
# What each HTTPS server negotiates with OpenSSL's client (wrk uses OpenSSL too). awk reads
# to the end: an awk that exits at the match can leave s_client writing into a closed pipe,
# and its SIGPIPE, under pipefail, ended this script silently (CI, stop 38).
tls_of() { { echo | openssl s_client -connect "127.0.0.1:$1" -CAfile "$OUT/tls/ca.pem" 2>/dev/null || true; } |
           awk '/^New, / && !seen {print $2 " " $NF; seen = 1}'; }
TLS_SLUICE=$(tls_of $TLS_PORT); TLS_NGINX=$( [ -n "${URL[nginx-tls,4k]:-}" ] && tls_of $NGINX_TLS_PORT || echo "not run")

targets=(sluice sluice-nolog sluice-tls); [ -n "${URL[nginx,4k]:-}" ] && targets+=(nginx)
[ -n "${URL[nginx-log,4k]:-}" ] && targets+=(nginx-log nginx-tls); [ $RGW_ON = 1 ] && targets+=(rgw)
echo "{\"kind\":\"meta\",\"date\":\"$(date -u +%FT%TZ)\",\"duration\":\"$D\",\"reps\":$REPS,\"nginx\":\"$(nginx -v 2>&1 | cut -d/ -f2)\",\"rgw\":\"$( [ $RGW_ON = 1 ] && radosgw --version 2>/dev/null | awk '{print $3}' || echo 'not run')\",\"rgw_store\":\"${RGW_STORE:-memstore}\",\"tls_sluice\":\"$TLS_SLUICE\",\"tls_nginx\":\"$TLS_NGINX\"}" >> "$RESULTS"

# Warm-up: every target serves each object once, RGW a large transfer (see peers/README).
for t in "${targets[@]}"; do for s in $SIZES; do curl -fsk -o /dev/null "${URL[$t,$s]}"; done; done
[ $RGW_ON = 1 ] && wrk -t2 -c8 -d2s "${URL[rgw,${SIZES##* }]}" >/dev/null 2>&1 || true

to_num() { # wrk's "1.23GB"/"456.7MB" -> MiB
  /usr/bin/python3 -c "import re,sys; m=re.match(r'([\d.]+)([KMG]?B)',sys.argv[1]); v=float(m.group(1)); print(v*{'B':1/2**20,'KB':1/1024,'MB':1,'GB':1024}[m.group(2)])" "$1"
}
p99_ms() { # wrk latency "12.34ms" / "1.2s" / "800us"
  /usr/bin/python3 -c "import re,sys; m=re.match(r'([\d.]+)(us|ms|s)',sys.argv[1]); print(float(m.group(1))*{'us':1e-3,'ms':1,'s':1e3}[m.group(2)])" "$1"
}
for s in $SIZES; do for c in $CONNS; do for r in $(seq $REPS); do
  # Rotate the order each repetition so drift in machine load hits every target alike.
  order=("${targets[@]:r%${#targets[@]}}" "${targets[@]:0:r%${#targets[@]}}")
  for t in "${order[@]}"; do
    o=$(wrk -t2 -c$c -d$D --latency "${URL[$t,$s]}" 2>&1)
    rps=$(echo "$o" | awk '/Requests\/sec/ {print $2}')
    tr=$(echo "$o" | awk '/Transfer\/sec/ {print $2}')
    p99=$(echo "$o" | awk '$1=="99%" {print $2}')
    non2xx=$(echo "$o" | awk '/Non-2xx/ {print $NF}')
    [ -n "$non2xx" ] && { echo "$t GET $s: $non2xx non-2xx responses" >&2; echo "$o" >&2; exit 1; }
    echo "{\"kind\":\"get\",\"size\":\"$s\",\"conns\":$c,\"target\":\"$t\",\"rps\":$rps,\"mibps\":$(to_num "$tr"),\"p99_ms\":$(p99_ms "$p99")}" >> "$RESULTS"
    printf 'GET %-4s c=%-3s %-10s %10s req/s\n' "$s" "$c" "$t" "$rps"
  done
done; done; done
if [ $GET_ONLY = 1 ]; then
  /usr/bin/python3 bench/report.py "$RESULTS" "$OUT/get.md" "bench/run.sh --get"
  exit 0
fi

# The cost of a bucket policy on the hot path: the same 4 KiB object in a bucket with a
# three-statement policy (bench/policy.json: a principal grant, a conditional Deny on
# deletes, and a Deny evaluated on every request, NotIpAddress on the source address),
# against the bucket without one, alternating, 16 connections.
json=$(/usr/bin/python3 bench/load.py "http://127.0.0.1:$SLUICE_PORT" $SAK $SSK benchpol "$OUT/www/obj-4k")
AWS_ENDPOINT_URL="http://127.0.0.1:$SLUICE_PORT" AWS_ACCESS_KEY_ID=$SAK AWS_SECRET_ACCESS_KEY=$SSK \
  build/release/src/sluice admin bucket-policy set benchpol bench/policy.json >/dev/null
POL_URL=$(echo "$json" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['obj-4k'])")
for r in $(seq $REPS); do for t in sluice sluice-policy; do
  u=${URL[sluice,4k]}; [ $t = sluice-policy ] && u=$POL_URL
  o=$(wrk -t2 -c16 -d$D "$u" 2>&1)
  echo "$o" | grep -q Non-2xx && { echo "$t: non-2xx answers" >&2; echo "$o" >&2; exit 1; }
  rps=$(echo "$o" | awk '/Requests\/sec/ {print $2}')
  echo "{\"kind\":\"policy\",\"size\":\"4k\",\"conns\":16,\"target\":\"$t\",\"rps\":$rps}" >> "$RESULTS"
  printf 'GET 4k  c=16  %-14s %10s req/s\n' "$t" "$rps"
done; done

put_targets=(sluice); [ $RGW_ON = 1 ] && put_targets+=(rgw)

# The raw disk: dd conv=fsync of 512 MiB to the data disk. It swings widely on this
# shared disk (270 to 1,500 MiB/s between runs), so it is measured once before the PUT
# phase and again in every repetition of the multipart and 64 MiB PUT loops, next to the
# runs it is compared with; the report takes the median.
dd_rate() {
  local out mibps
  out=$(dd if=/dev/zero of="$OUT/dd.bin" bs=1M count=$([ $QUICK = 1 ] && echo 64 || echo 512) conv=fsync 2>&1 | tail -1)
  rm -f "$OUT/dd.bin"
  mibps=$(echo "$out" | /usr/bin/python3 -c "import re,sys; m=re.search(r'([\d.]+) ([MG])B/s',sys.stdin.read()); print(float(m.group(1))*(1000**2 if m.group(2)=='M' else 1000**3)/2**20)")
  echo "{\"kind\":\"dd\",\"mibps\":$mibps}" >> "$RESULTS"
  printf 'DD conv=fsync %8.1f MiB/s\n' "$mibps"
}

# Ranged GETs: 8 MiB parts of a 1 GiB object, 16 connections. Ranged GETs and the
# multipart upload run before the PUT phase fills RGW's in-memory store.
if [ $QUICK = 0 ]; then
  head -c $((1024 * 1048576)) /dev/urandom > "$OUT/www/obj-1g"
  json=$(/usr/bin/python3 bench/load.py "http://127.0.0.1:$SLUICE_PORT" $SAK $SSK bench "$OUT/www/obj-1g")
  URL[sluice,1g]=$(echo "$json" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['obj-1g'])")
  [ -n "${URL[nginx,4k]:-}" ] && URL[nginx,1g]="http://127.0.0.1:$NGINX_PORT/obj-1g"
  if [ $RGW_ON = 1 ]; then
    # RGW's memstore holds every byte in RAM; a load it cannot take skips its ranged row.
    if json=$(/usr/bin/python3 bench/load.py "$RGW_ENDPOINT" "$RGW_AK" "$RGW_SK" bench "$OUT/www/obj-1g" 2>"$OUT/rgw-1g.log"); then
      URL[rgw,1g]=$(echo "$json" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['obj-1g'])")
    else
      echo "RGW did not take the 1 GiB object; see $OUT/rgw-1g.log" >&2
    fi
  fi
  for t in "${targets[@]}"; do [ -n "${URL[$t,1g]:-}" ] && curl -fsk -o /dev/null -r 0-1 "${URL[$t,1g]}"; done
  for r in $(seq $REPS); do for t in sluice nginx rgw; do
    [ -n "${URL[$t,1g]:-}" ] || continue
    o=$(wrk -t2 -c16 -d$D --latency -s bench/range.lua "${URL[$t,1g]}" 2>&1)
    non2xx=$(echo "$o" | awk '/Non-2xx/ {print $NF}')
    [ -n "$non2xx" ] && { echo "$t ranged GET: $non2xx non-2xx responses" >&2; echo "$o" >&2; exit 1; }
    rps=$(echo "$o" | awk '/Requests\/sec/ {print $2}'); tr=$(echo "$o" | awk '/Transfer\/sec/ {print $2}')
    p99=$(echo "$o" | awk '$1=="99%" {print $2}')
    echo "{\"kind\":\"range\",\"size\":\"8m\",\"conns\":16,\"target\":\"$t\",\"rps\":$rps,\"mibps\":$(to_num "$tr"),\"p99_ms\":$(p99_ms "$p99")}" >> "$RESULTS"
    printf 'RANGE 8m of 1g c=16 %-6s %10s req/s %s\n' "$t" "$rps" "$tr"
  done; done
  rm -f "$OUT/www/obj-1g"

  # Multipart upload of 1 GiB in 8 MiB parts, 4 connections, against dd conv=fsync.
  for r in $(seq $REPS); do dd_rate; for t in "${put_targets[@]}"; do
    if [ $t = sluice ]; then args=(127.0.0.1 $SLUICE_PORT $SAK $SSK)
    else args=(127.0.0.1 ${RGW_PORT:-7480} "$RGW_AK" "$RGW_SK"); fi
    o=$(build/release/bench/s3_bench multipart "${args[@]}" bench mpu-1g 1024 8 4) || { echo "$t multipart failed" >&2; continue; }
    eval "$(echo "$o" | tr ' ' '\n' | grep -E '^(MiB_per_s|seconds)=')"
    echo "{\"kind\":\"mpu\",\"size\":\"1g\",\"conns\":4,\"target\":\"$t\",\"rps\":0,\"mibps\":$MiB_per_s,\"seconds\":$seconds}" >> "$RESULTS"
    printf 'MPU 1g in 8m parts c=4 %-6s %8s MiB/s\n' "$t" "$MiB_per_s"
  done; done
fi

dd_rate
for s in $PUT_SIZES; do
  n=${s%[km]}; u=${s: -1}; [ $u = k ] && bytes=$((n * 1024)) || bytes=$((n * 1048576))
  c=16; [ $bytes -ge $((64 * 1048576)) ] && c=4
  for r in $(seq $REPS); do
    [ $bytes -ge $((64 * 1048576)) ] && dd_rate
    for t in "${put_targets[@]}"; do
      if [ $t = sluice ]; then args=(127.0.0.1 $SLUICE_PORT bench $SAK $SSK)
      else args=(127.0.0.1 ${RGW_PORT:-7480} bench "$RGW_AK" "$RGW_SK"); fi
      o=$(build/release/bench/put_load "${args[@]}" $bytes $c $PUT_S) || { echo "$t PUT $s failed" >&2; continue; }
      eval "$(echo "$o" | tr ' ' '\n' | grep -E '^(put_per_s|MiB_per_s|p99_ms|errors)=')"
      echo "{\"kind\":\"put\",\"size\":\"$s\",\"conns\":$c,\"target\":\"$t\",\"rps\":$put_per_s,\"mibps\":$MiB_per_s,\"p99_ms\":$p99_ms,\"errors\":$errors}" >> "$RESULTS"
      printf 'PUT %-4s c=%-3s %-6s %10s PUT/s %8s MiB/s\n' "$s" "$c" "$t" "$put_per_s" "$MiB_per_s"
    done
  done
done
# Nothing below uses the memstore RGW, which holds every byte it was sent in RAM: in one
# run its OSD reached 18 GB and the OOM killer took it during the CLI phase, after the
# memory pressure had already skewed the 4 GiB CLI rows. It goes now; the bluestore phase
# at the end starts RGW afresh.
[ $RGW_ON = 1 ] && { "$PEERS/rgw-down.sh" >/dev/null 2>&1 || true; }
# The CLIs (issue #5): sluice, the AWS CLI and rclone moving the same files to and from
# this sluice server (bench/cli_bench.sh).
bench/cli_bench.sh "http://127.0.0.1:$SLUICE_PORT" $SAK $SSK "$RESULTS" "$OUT/cli" $QUICK
# PyTorch data loading and checkpoints (issue #5): sluice.torch against local files and boto3.
cmake --build build/release --target sluice_python >/dev/null
SLUICE_DATA="$OUT/data" NGINX_URL="${URL[nginx,4k]:+http://127.0.0.1:$NGINX_PORT}" NGINX_ROOT="$OUT/www" \
  /usr/bin/python3 bench/torch_bench.py "http://127.0.0.1:$SLUICE_PORT" $SAK $SSK "$RESULTS" "$OUT/torch" $QUICK

rss_kib() { awk '/VmRSS/ {print $2}' /proc/$1/status; }

# Concurrency: 4 KiB GETs from 1 to 1000 connections, and 1000 idle connections, on a fresh
# sluice, so its RSS is not the residue of the earlier phases; RSS sampled during each run.
CONC_PORT=$(free_port)
build/release/src/sluice server --data "$OUT/data-conc" --listen 127.0.0.1:$CONC_PORT --access-key $SAK \
  --secret-key $SSK --no-access-log >"$OUT/sluice-conc.log" 2>&1 &
CONC_PID=$!; pids+=($CONC_PID)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$CONC_PORT/health" >/dev/null && break; sleep 0.05; done
json=$(/usr/bin/python3 bench/load.py "http://127.0.0.1:$CONC_PORT" $SAK $SSK bench "$OUT/www/obj-4k")
URL[fresh,4k]=$(echo "$json" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['obj-4k'])")
CONC_LEVELS="1 10 100 1000"; [ $QUICK = 1 ] && CONC_LEVELS="1 100"
for c in $CONC_LEVELS; do for t in sluice nginx; do
  u=${URL[$t,4k]:-}; [ $t = sluice ] && u=${URL[fresh,4k]}
  [ -n "$u" ] || continue
  threads=2; [ $c -lt 2 ] && threads=1
  peak=0
  : > "$OUT/rss.samples"
  ( while sleep 0.2; do [ $t = sluice ] && rss_kib $CONC_PID; done ) >> "$OUT/rss.samples" 2>/dev/null &
  sampler=$!
  o=$(wrk -t$threads -c$c -d$D --latency "$u" 2>&1)
  kill $sampler 2>/dev/null; wait $sampler 2>/dev/null || true
  [ $t = sluice ] && peak=$(sort -n "$OUT/rss.samples" | tail -1)
  rps=$(echo "$o" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$o" | awk '$1=="99%" {print $2}')
  echo "{\"kind\":\"conc\",\"size\":\"4k\",\"conns\":$c,\"target\":\"$t\",\"rps\":${rps:-0},\"p99_ms\":$(p99_ms "${p99:-0us}"),\"rss_kib\":${peak:-0}}" >> "$RESULTS"
  printf 'CONC c=%-5s %-6s %10s req/s  p99 %s  RSS %s KiB\n' "$c" "$t" "$rps" "$p99" "${peak:-–}"
done; done

# 1000 idle keep-alive connections: server RSS before and while they are open.
IDLE=1000; [ $QUICK = 1 ] && IDLE=200
before=$(rss_kib $CONC_PID)
coproc IDLECONN { /usr/bin/python3 bench/idle_conns.py 127.0.0.1 $CONC_PORT $IDLE; }
read -r line <&"${IDLECONN[0]}" || line=""
sleep 0.5
during=$(rss_kib $CONC_PID)
eval "exec ${IDLECONN[1]}>&-"; wait $IDLECONN_PID 2>/dev/null || true
echo "{\"kind\":\"meta\",\"idle_conns\":$IDLE,\"idle_rss_before_kib\":$before,\"idle_rss_kib\":$during}" >> "$RESULTS"
echo "IDLE $IDLE connections ($line): RSS $before KiB before, $during KiB with them open"
kill $CONC_PID 2>/dev/null; wait $CONC_PID 2>/dev/null || true

# Listing: a second sluice on a data directory seeded offline (bench/seed_keys.cc).
# The full run's `walk` bucket holds the 10,000,000 keys of issue #23's listing target
# (seeded in about two minutes; 650 MB of index).
if [ $QUICK = 1 ]; then WALK="20 50"; WIDE="100 1"; SMALL="2 50"; ONE=p00010/
else WALK="100000 100"; WIDE="10000 1"; SMALL="1000 100"; ONE=p50000/; fi
read -r walk_prefixes walk_per <<<"$WALK"
echo "{\"kind\":\"meta\",\"walk_prefixes\":$walk_prefixes,\"walk_per_prefix\":$walk_per}" >> "$RESULTS"
mkdir -p "$OUT/data-list"
build/release/bench/seed_keys "$OUT/data-list" walk $WALK >/dev/null
build/release/bench/seed_keys "$OUT/data-list" wide $WIDE >/dev/null
build/release/bench/seed_keys "$OUT/data-list" small $SMALL >/dev/null
LIST_PORT=$(free_port)
build/release/src/sluice server --data "$OUT/data-list" --listen 127.0.0.1:$LIST_PORT --access-key $SAK \
  --secret-key $SSK --no-access-log >"$OUT/sluice-list.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$LIST_PORT/health" >/dev/null && break; sleep 0.05; done
list_run() { # NAME BUCKET PREFIX DELIMITER
  for r in $(seq $REPS); do
    o=$(build/release/bench/s3_bench list 127.0.0.1 $LIST_PORT $SAK $SSK "$2" "$3" "$4" 1000)
    eval "$(echo "$o" | tr ' ' '\n' | grep -E '^(keys|prefixes|seconds|keys_per_s|first_page_ms)=')"
    echo "{\"kind\":\"list\",\"size\":\"$1\",\"conns\":1,\"target\":\"sluice\",\"rps\":$keys_per_s,\"keys\":$keys,\"prefixes\":$prefixes,\"seconds\":$seconds,\"first_page_ms\":$first_page_ms}" >> "$RESULTS"
    printf 'LIST %-28s %8s keys %6s prefixes %8.3f s %10s entries/s\n' "$1" "$keys" "$prefixes" "$seconds" "$keys_per_s"
  done
}
list_run "walk-small" small "" ""
list_run "walk-large" walk "" ""
list_run "delimiter-over-10k-keys" wide "" "/"
list_run "delimiter-over-walk" walk "" "/"
list_run "prefix-in-small" small "p00001/" ""
list_run "prefix-in-large" walk "$ONE" ""

# Durable 4 KiB PUTs against the disk-backed RGW (bluestore on a file), the peer the PUT
# target names; the memstore RGW above keeps data in memory.
if [ $QUICK = 0 ] && [ $RGW_ON = 1 ] && [ "${BENCH_BLUESTORE:-1}" = 1 ]; then
  "$PEERS/rgw-down.sh" >/dev/null 2>&1 || true
  if rgw_env=$(RGW_STORE=bluestore timeout 300 "$PEERS/rgw-up.sh" 2>"$OUT/rgw-bluestore-up.log"); then
    eval "$rgw_env"
    /usr/bin/python3 -c "import boto3,sys; boto3.client('s3', endpoint_url='$RGW_ENDPOINT', aws_access_key_id='$AWS_ACCESS_KEY_ID', aws_secret_access_key='$AWS_SECRET_ACCESS_KEY', region_name='us-east-1').create_bucket(Bucket='bench')" 2>/dev/null || true
    for r in $(seq $REPS); do for t in sluice rgw-bluestore; do
      if [ $t = sluice ]; then args=(127.0.0.1 $SLUICE_PORT bench $SAK $SSK)
      else args=(127.0.0.1 ${RGW_PORT:-7480} bench "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY"); fi
      o=$(build/release/bench/put_load "${args[@]}" 4096 16 $PUT_S) || { echo "$t PUT 4k failed" >&2; continue; }
      eval "$(echo "$o" | tr ' ' '\n' | grep -E '^(put_per_s|MiB_per_s|p99_ms|errors)=')"
      echo "{\"kind\":\"put\",\"size\":\"4k\",\"conns\":16,\"target\":\"$t\",\"rps\":$put_per_s,\"mibps\":$MiB_per_s,\"p99_ms\":$p99_ms,\"errors\":$errors}" >> "$RESULTS"
      printf 'PUT 4k   c=16  %-14s %8s PUT/s\n' "$t" "$put_per_s"
    done; done
  else
    echo "bluestore RGW did not come up; see $OUT/rgw-bluestore-up.log" >&2
  fi
fi

echo "sluice RSS after the run: $(awk '/VmRSS/ {print $2, $3}' /proc/$SLUICE_PID/status)"

if [ $QUICK = 1 ]; then
  /usr/bin/python3 bench/report.py "$RESULTS" "$OUT/quick.md" "bench/run.sh --quick"
else
  /usr/bin/python3 bench/report.py "$RESULTS" BENCHMARKS.md "bench/run.sh"
fi
