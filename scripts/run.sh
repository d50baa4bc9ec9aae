#!/usr/bin/env bash
# Quickstart: installs what is missing, builds sluice (release), makes `sluice` and the
# Python module `sluice` available (PATH, /usr/bin/python3), and serves S3 from ./data on
# 127.0.0.1:9000. Extra arguments go to `sluice server` (see `--help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Reuses build/release as it is configured (scripts/test.sh builds it with tests on); a new one
# leaves tests off, which needs none of the test packages.
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release \
  $([ -f build/release/CMakeCache.txt ] || echo -DSLUICE_TESTS=OFF) >/dev/null
cmake --build build/release --target sluice
# The Python module (`import sluice`, `sluice.torch`) for Debian's /usr/bin/python3, and the
# `sluice` command on PATH, both pointing at this build.
if cmake --build build/release --target sluice_python >/dev/null 2>&1; then
  site=$(/usr/bin/python3 -c 'import site; print(site.getsitepackages()[0])')
  if [ -w "$site" ] || [ -w "$(dirname "$site")" ]; then
    mkdir -p "$site" && echo "$PWD/build/release/python" > "$site/sluice-build.pth"
  fi
fi
[ -w /usr/local/bin ] && ln -sf "$PWD/build/release/src/sluice" /usr/local/bin/sluice
exec build/release/src/sluice server --data ./data --listen 127.0.0.1:9000 "$@"
