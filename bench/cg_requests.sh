#!/usr/bin/env bash
# Server instructions per request, counted by callgrind (exact, whatever the machine's load):
# a 4 KiB GET (wrk, 4 connections, presigned URL, 10 s) and a durable 4 KiB PUT
# (bench/put_load, 16 connections on 16 keys, 15 s), each on a fresh server with one I/O
# thread. Counting starts after a warm-up and covers the whole process (all threads).
#   bench/cg_requests.sh [BIN]      BIN defaults to build/release/src/sluice
#   SLUICE_ARGS="--no-request-metrics" bench/cg_requests.sh   extra server flags
#   CG_KEEP=DIR bench/cg_requests.sh   keeps the callgrind dumps in DIR (callgrind_annotate)
# Prints one line per operation: instructions per request and the request count.
# The PUT count includes RocksDB's memtable inserts, which grow with the number of keys
# written, so compare runs that wrote a similar number of PUTs.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=$(realpath "${1:-build/release/src/sluice}")
cmake --build build/release --target put_load >/dev/null
W=$(mktemp -d /tmp/sluice-cg.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }; if [ -n "${CG_KEEP:-}" ]; then cp "$W"/*.1 "$CG_KEEP"/ 2>/dev/null || true; fi; rm -rf "$W"; }
trap cleanup EXIT
AK=cgaccesskey; SK=cgsecretkey0123456789
start() {  # start NAME: a server under callgrind, instrumentation off until asked
  PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  valgrind --tool=callgrind --callgrind-out-file="$W/$1.%p" --instr-atstart=no \
    "$BIN" server --data "$W/data-$1" --listen 127.0.0.1:$PORT --access-key $AK --secret-key $SK \
    --no-access-log --lifecycle-interval 0 --threads 1 ${SLUICE_ARGS:-} >"$W/$1.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }
count() {  # count NAME REQUESTS: instructions of the dump taken while counting, per request
  local f; f=$(ls "$W/$1".*.1 | head -1)
  /usr/bin/python3 -c "import sys; print(f'{sys.argv[1]:<8} {int(sys.argv[2]) / int(sys.argv[3]):>10,.0f} instructions/request ({sys.argv[3]} requests)')" \
    "$1" "$(grep -m1 '^summary:' "$f" | awk '{print $2}')" "$2"
}

start get
head -c 4096 /dev/urandom > "$W/obj-4k"
URL=$(/usr/bin/python3 bench/load.py "http://127.0.0.1:$PORT" $AK $SK cgbench "$W/obj-4k" |
      /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['obj-4k'])")
wrk -t1 -c4 -d2s "$URL" >/dev/null
callgrind_control -i on "$pid" >/dev/null 2>&1
n=$(wrk -t1 -c4 -d10s "$URL" | awk '/requests in/ {print $1}')
callgrind_control -d "$pid" >/dev/null 2>&1
stop; count get "$n"

start put
/usr/bin/python3 bench/load.py "http://127.0.0.1:$PORT" $AK $SK cgbench "$W/obj-4k" >/dev/null
build/release/bench/put_load 127.0.0.1 $PORT cgbench $AK $SK 4096 1 2 7 >/dev/null
callgrind_control -i on "$pid" >/dev/null 2>&1
n=$(build/release/bench/put_load 127.0.0.1 $PORT cgbench $AK $SK 4096 16 15 16 | sed -n 's/.*puts=\([0-9]*\).*/\1/p')
callgrind_control -d "$pid" >/dev/null 2>&1
stop; count put "$n"
