#!/usr/bin/env bash
# The CLI scenarios of issue #5: the sluice CLI against the AWS CLI and rclone (both from
# Debian), each uploading and downloading the same data to and from the same sluice
# server, one after the other:
#   many: N files of 100 KiB (10,000 in a full run) as one recursive copy;
#   one:  a single large object (4 GiB in a full run), in rounds, every tool downloading
#         the same (warm) object.
# Called by bench/run.sh with: ENDPOINT AK SK RESULTS_FILE WORKDIR QUICK(0|1).
# Every download is compared with the source before its time counts.
set -euo pipefail
EP=$1 AK=$2 SK=$3 RESULTS=$4 WORK=$5 QUICK=${6:-0}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SLUICE=$ROOT/build/release/src/sluice
if [ "$QUICK" = 1 ]; then NFILES=300; BIG_MIB=256; else NFILES=${CLI_NFILES:-10000}; BIG_MIB=${CLI_BIG_MIB:-4096}; fi

mkdir -p "$WORK"
# Downloads land in RAM (/dev/shm) when it has room, so the figures compare the tools and
# not the disk's writeback: a 4 GiB download to disk ran into dirty-page throttling, which
# slowed every tool to the same ~230 MiB/s in one run and not in another.
DOWN=$WORK
if [ -d /dev/shm ] && [ "$(df --output=avail -k /dev/shm | tail -1)" -gt $(( (NFILES * 110 + BIG_MIB * 1100) )) ]; then
  DOWN=$(mktemp -d /dev/shm/sluice-clibench.XXXXXX)
  trap 'rm -rf "$DOWN"' EXIT
fi
# Data: N small files, and one big file, from /dev/urandom (incompressible, undeduplicable).
/usr/bin/python3 - "$WORK/many" "$NFILES" <<'EOF'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d, exist_ok=True)
for i in range(n):
    sub = os.path.join(d, f"shard-{i // 1000:03d}")
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, f"sample-{i:06d}.bin"), "wb") as f:
        f.write(os.urandom(100 * 1024))
EOF
head -c $((BIG_MIB * 1048576)) /dev/urandom > "$WORK/big.bin"
sync

# The endpoint also goes to the AWS CLI as --endpoint-url: Debian 12's AWS CLI (2.9) ignores
# AWS_ENDPOINT_URL, which only newer releases read.
export AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL=$EP
export RCLONE_CONFIG=/dev/null RCLONE_CONFIG_SL_TYPE=s3 RCLONE_CONFIG_SL_PROVIDER=Other \
  RCLONE_CONFIG_SL_ACCESS_KEY_ID=$AK RCLONE_CONFIG_SL_SECRET_ACCESS_KEY=$SK RCLONE_CONFIG_SL_ENDPOINT=$EP \
  RCLONE_CONFIG_SL_REGION=us-east-1
"$SLUICE" mb s3://clibench -q 2>/dev/null || true
# Which AWS CLI ran (the one first on PATH), for the report.
awsv=$(aws --version 2>&1 | awk '{print $1}' | head -1)
echo "{\"kind\":\"meta\",\"aws_cli\":\"${awsv:-unknown}\"}" >> "$RESULTS"

now() { date +%s.%N; }
record() { # tool scenario direction seconds bytes
  echo "{\"kind\":\"cli\",\"tool\":\"$1\",\"scenario\":\"$2\",\"direction\":\"$3\",\"seconds\":$4,\"bytes\":$5}" >> "$RESULTS"
  printf 'CLI %-7s %-4s %-8s %8.2f s  %8.1f MiB/s\n' "$1" "$2" "$3" "$4" "$(awk "BEGIN{print $5 / $4 / 1048576}")"
}
run_tool() { # tool up|down many|one SRC DST
  local tool=$1 dir=$2 what=$3 src=$4 dst=$5
  case $tool in
    sluice) if [ $what = many ]; then "$SLUICE" cp -r -q "$src" "$dst"; else "$SLUICE" cp -q "$src" "$dst"; fi ;;
    aws) if [ $what = many ]; then aws --endpoint-url "$EP" s3 cp --recursive --quiet --only-show-errors "$src" "$dst"
         else aws --endpoint-url "$EP" s3 cp --quiet --only-show-errors "$src" "$dst"; fi ;;
    rclone) local s=${src/s3:\/\//sl:} d=${dst/s3:\/\//sl:}
            # rclone reads AWS_* variables (a CA bundle among them): give it none.
            ( unset $(compgen -e | grep '^AWS_')
              if [ $what = many ]; then rclone copy "$s" "$d"; else rclone copyto "$s" "$d"; fi ) ;;
  esac
}
many_bytes=$((NFILES * 102400)); big_bytes=$((BIG_MIB * 1048576))
tools=()
for tool in sluice aws rclone; do
  command -v $tool >/dev/null 2>&1 || [ $tool = sluice ] || { echo "$tool missing; skipped" >&2; continue; }
  tools+=("$tool")
done
# Many small files: each tool uploads the tree and downloads its own upload.
for tool in "${tools[@]}"; do
  rm -rf "$DOWN/down-many"
  t0=$(now); run_tool $tool up many "$WORK/many" "s3://clibench/$tool/many"; t1=$(now)
  record $tool many up "$(awk "BEGIN{print $t1 - $t0}")" $many_bytes
  t0=$(now); run_tool $tool down many "s3://clibench/$tool/many" "$DOWN/down-many"; t1=$(now)
  diff -rq "$WORK/many" "$DOWN/down-many" >/dev/null || { echo "$tool: downloaded tree differs" >&2; exit 1; }
  record $tool many down "$(awk "BEGIN{print $t1 - $t0}")" $many_bytes
  "$SLUICE" rm -r -q "s3://clibench/$tool/many/"
  rm -rf "$DOWN/down-many"
done
# One large object, in rounds (3 in a full run) with the tools' order rotated, so that the
# disk's and the host's drift reach every tool alike; the report takes medians. Every tool
# downloads the same object, read once beforehand, so the downloads compare the clients
# rather than whichever tool happened to meet a cold disk (sluice writes large objects
# with O_DIRECT, so a fresh upload is not in the page cache).
ROUNDS=$([ "$QUICK" = 1 ] && echo 1 || echo "${CLI_ROUNDS:-3}")
for round in $(seq 0 $((ROUNDS - 1))); do
  for i in "${!tools[@]}"; do
    tool=${tools[$(( (i + round) % ${#tools[@]} ))]}
    "$SLUICE" rm -q "s3://clibench/$tool/big.bin" 2>/dev/null || true  # else rclone skips it
    t0=$(now); run_tool $tool up one "$WORK/big.bin" "s3://clibench/$tool/big.bin"; t1=$(now)
    record $tool one up "$(awk "BEGIN{print $t1 - $t0}")" $big_bytes
  done
done
"$SLUICE" cat "s3://clibench/sluice/big.bin" > /dev/null
for round in $(seq 0 $((ROUNDS - 1))); do
  for i in "${!tools[@]}"; do
    tool=${tools[$(( (i + round) % ${#tools[@]} ))]}
    rm -f "$DOWN/down-big.bin"
    t0=$(now); run_tool $tool down one "s3://clibench/sluice/big.bin" "$DOWN/down-big.bin"; t1=$(now)
    cmp -s "$WORK/big.bin" "$DOWN/down-big.bin" || { echo "$tool: downloaded object differs" >&2; exit 1; }
    record $tool one down "$(awk "BEGIN{print $t1 - $t0}")" $big_bytes
  done
done
rm -f "$DOWN/down-big.bin"
"$SLUICE" rm -r -q "s3://clibench/"
rm -rf "$WORK"
