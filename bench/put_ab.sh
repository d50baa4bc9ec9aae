#!/usr/bin/env bash
# Durable 4 KiB PUTs (bench/put_load: 16 connections, 10 s) against two server binaries in
# turn, each on a fresh data directory under /var/tmp (a real disk, not tmpfs), for ROUNDS
# rounds, alternating which goes first. Prints one line per run; compare the pairs, since
# this machine's load moves both.
#   bench/put_ab.sh BIN_A BIN_B [ROUNDS]        (ROUNDS defaults to 3)
set -euo pipefail
cd "$(dirname "$0")/.."
A=$(realpath "$1"); B=$(realpath "$2"); ROUNDS=${3:-3}
cmake --build build/release --target put_load >/dev/null
AK=abaccesskey; SK=absecretkey0123456789
run() {  # NAME BIN
  local d port pid
  d=$(mktemp -d /var/tmp/sluice-putab.XXXXXX)
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$2" server --data "$d/data" --listen "127.0.0.1:$port" --access-key $AK --secret-key $SK \
    --no-access-log >"$d/log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  /usr/bin/python3 -c "
import boto3; boto3.client('s3', endpoint_url='http://127.0.0.1:$port', aws_access_key_id='$AK',
  aws_secret_access_key='$SK', region_name='us-east-1').create_bucket(Bucket='putab')"
  echo "$1 $(build/release/bench/put_load 127.0.0.1 "$port" putab $AK $SK 4096 16 10 | tail -1)"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$d"
}
for i in $(seq "$ROUNDS"); do
  if [ $((i % 2)) = 1 ]; then run A "$A"; run B "$B"; else run B "$B"; run A "$A"; fi
done
