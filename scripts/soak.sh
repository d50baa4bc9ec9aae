#!/usr/bin/env bash
# The soak (docs/soak.md): a mixed workload on 200 connections against the release binary
# for 30 minutes, kill -9 and a restart every 5 minutes, then every acknowledged object
# verified byte for byte and RSS, open descriptors, p99 latency and disk use checked for
# growth. Samples and a plot go to OUT (build/soak unless SLUICE_SOAK_OUT names another).
#   scripts/soak.sh [MINUTES] [CONNECTIONS] [KILL_EVERY_SECONDS]
#   SLUICE_SOAK_OUT=docs/soak scripts/soak.sh      refreshes the plot docs/soak.md shows
# CI runs a 3-minute version (ctest: integration.soak). Exit status 0 when every check holds.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-30}
CONNS=${2:-200}
KILL_EVERY=${3:-300}
OUT=$(realpath -m "${SLUICE_SOAK_OUT:-build/soak}")
if [ ! -x build/release/src/sluice ]; then
  cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DSLUICE_TESTS=ON >/dev/null
fi
cmake --build build/release --target sluice
# The binary is copied, so a rebuild during the run cannot change what a restart starts.
BIN=$(mktemp /tmp/sluice-soak.XXXXXX)
trap 'rm -f "$BIN"' EXIT
cp build/release/src/sluice "$BIN"
SLUICE_BIN=$BIN /usr/bin/python3 -W ignore tests/soak/soak.py --minutes "$MINUTES" \
  --conns "$CONNS" --kill-every "$KILL_EVERY" --out "$OUT"
