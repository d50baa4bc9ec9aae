#!/usr/bin/env bash
# The suite's test of scripts/install-deps.sh: ../shared/tools/check-deps.sh must find every
# header and Python module the code uses in what the install script brings (a fresh Debian 12
# machine has nothing else). Skipped (77) where ../shared is not beside the repository.
set -uo pipefail
repo=$(cd "${1:-.}" && pwd)
check=$repo/../shared/tools/check-deps.sh
[ -f "$check" ] || { echo "check_deps: $check not found: skipped"; exit 77; }
out=$(bash "$check" "$repo" 2>&1); rc=$?
echo "$out"
[ $rc = 0 ] || echo "check_deps: FAILED (check-deps.sh exit $rc)"
exit $rc
