#!/usr/bin/env bash
# Quickstart: installs what is missing, builds sluice (release) and serves S3 from ./data
# on 127.0.0.1:9000. Extra arguments go to `sluice server` (see `--help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DSLUICE_TESTS=OFF >/dev/null
cmake --build build/release --target sluice
exec build/release/src/sluice server --data ./data --listen 127.0.0.1:9000 "$@"
