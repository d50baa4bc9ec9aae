#!/usr/bin/env bash
# Every C++ file in git is as clang-format (.clang-format) would write it. Prints the files
# that are not, and how to fix them. Exit 77 (skipped) without clang-format.
set -u
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
command -v clang-format >/dev/null || { echo "clang-format is missing: scripts/install-deps.sh --test"; exit 77; }
out=$(git ls-files -z '*.cc' '*.h' | xargs -0 clang-format --dry-run -Werror 2>&1)
bad=$(grep -oE '^[^ :]+:[0-9]+:[0-9]+: error' <<<"$out" | cut -d: -f1 | sort -u)
if [ -n "$bad" ]; then
  echo "not formatted (clang-format -i FILE...):"
  sed 's/^/  /' <<<"$bad"
  echo "format: 0 passed, 1 failed"
  exit 1
fi
echo "format: 1 passed, 0 failed"
