#!/usr/bin/env bash
# Server instructions per request by operation under callgrind, against bench/costs.baseline
# (issue #23). See bench/costs.py for the mix and the method.
#   bench/costs.sh [--bin BIN] [--check] [--update] [--tolerance 0.10]
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/costs.py "$@"
