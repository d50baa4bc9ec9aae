#!/usr/bin/env bash
# Builds the web console into OUT/dist (index.html, console.css, console.js): npm ci in a
# copy under OUT (the source tree stays clean), a type check with tsc, a bundle with esbuild.
# CMake runs it (SLUICE_CONSOLE=ON) and compiles OUT/dist into the binary.
#   console/build.sh OUT
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
work=$out/work
mkdir -p "$work"
cp "$src/package.json" "$src/package-lock.json" "$src/tsconfig.json" "$work/"
rm -rf "$work/src" && cp -r "$src/src" "$work/src"
# npm ci again only when the lock file changed.
if ! cmp -s "$work/package-lock.json" "$work/node_modules/.sluice-lock" 2>/dev/null; then
  (cd "$work" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$work/package-lock.json" "$work/node_modules/.sluice-lock"
fi
rm -rf "$out/dist.new" && mkdir -p "$out/dist.new"
(cd "$work" && npm run --silent check && npm run --silent bundle -- --log-level=warning --outfile="$out/dist.new/console.js")
cp "$src"/static/* "$out/dist.new/"
rm -rf "$out/dist" && mv "$out/dist.new" "$out/dist"
