#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test:
#   1. unit and integration tests under AddressSanitizer + UndefinedBehaviorSanitizer (Debug);
#   2. a short libFuzzer run of every network-facing parser (clang);
#   3. the release build with tests (the build type scripts/run.sh serves and a plain
#      `cmake -S . -B build` gets), and the benchmark harness in --quick mode on it (keeps the
#      harness working; never gates on a timing);
#   4. the whole suite on that release build (unit, golden exchanges, layer check, the install
#      script's coverage, and the real binary driven by boto3, the AWS CLI, s3cmd, rclone, s3fs,
#      the JavaScript SDKs, chromium, raw sockets and kill -9).
# Ends with ctest's summary. SLUICE_FUZZ_SECONDS (default 15) sets the fuzz time per target;
# SLUICE_SKIP_SANITIZERS=1 / SLUICE_SKIP_FUZZ=1 / SLUICE_SKIP_BENCH=1 skip steps 1 / 2 / 3's bench.
# SLUICE_TEST_IMAGE=1 adds a fifth step: build the container image (deploy/build-image.sh,
# about 8 minutes) and run it (tests/integration/test_image.py); CI's budget leaves it out.
# Each phase's time is printed, and appended to $SLUICE_TIMINGS when that is set.
# CI (.ci/run) runs this inside a freshly bootstrapped Debian root: scripts/fresh-check.sh.
set -euo pipefail
# A step that fails says which, even when its own output went elsewhere.
trap 'echo "scripts/test.sh: line $LINENO: exit status $? from: $BASH_COMMAND" >&2' ERR
cd "$(dirname "$0")/.."
tprev=$(date +%s)
phase() {
  local now; now=$(date +%s)
  echo "time: $1: $((now - tprev)) s"
  [ -n "${SLUICE_TIMINGS:-}" ] && printf '%-40s %5d s\n' "$1" $((now - tprev)) >> "$SLUICE_TIMINGS"
  tprev=$now
}
scripts/install-deps.sh --test
phase "install-deps --test"
jobs=$(nproc)

if [ "${SLUICE_SKIP_SANITIZERS:-0}" != 1 ]; then
  echo "=== 1/4: ASan + UBSan build (Debug) and tests"
  cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON >/dev/null
  cmake --build build/asan
  phase "build: Debug, ASan+UBSan"
  # Leaks in the third-party libraries' static state at exit are not ours to chase. The soak runs
  # on the release build only: its growth bounds are for a process without ASan's quarantine.
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build/asan --output-on-failure -j "$jobs" -E 'integration.(awscli|s3cmd|soak)|deps\.'
  phase "tests: ASan+UBSan"
fi

if [ "${SLUICE_SKIP_FUZZ:-0}" != 1 ]; then
  echo "=== 2/4: fuzzing the parsers (${SLUICE_FUZZ_SECONDS:-15}s each)"
  CC=clang CXX=clang++ cmake -S tests/fuzz -B build/fuzz -G Ninja >/dev/null
  cmake --build build/fuzz
  phase "build: fuzz targets (clang)"
  for f in build/fuzz/fuzz_*; do
    [ -x "$f" ] || continue
    name=$(basename "$f")
    corpus=build/fuzz/corpus/$name
    mkdir -p "$corpus"
    seeds=tests/fuzz/seeds/${name#fuzz_}
    "$f" -max_total_time="${SLUICE_FUZZ_SECONDS:-15}" -max_len=65536 -print_final_stats=0 \
      -artifact_prefix=build/fuzz/ \
      "$corpus" $( [ -d "$seeds" ] && echo "$seeds" ) >"build/fuzz/$name.log" 2>&1 \
      || { echo "fuzz: $name found a crash"; tail -40 "build/fuzz/$name.log"; exit 1; }
    echo "fuzz: $name: $(grep -oE 'Done [0-9]+ runs' "build/fuzz/$name.log" | grep -oE '[0-9]+') runs, no crash"
  done
  phase "fuzz runs"
fi

echo "=== 3/4: release build with tests; benchmark harness, quick mode (figures are not checked)"
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DSLUICE_TESTS=ON >/dev/null
cmake --build build/release
phase "build: Release, tests on"
if [ "${SLUICE_SKIP_BENCH:-0}" != 1 ]; then
  bench/run.sh --quick > build/bench-quick.log 2>&1 || { tail -30 build/bench-quick.log; exit 1; }
  grep -E '^(GET|PUT) ' build/bench-quick.log
  /usr/bin/python3 -W ignore bench/replication.py --quick --out build/replication-quick.md \
    > build/replication-quick.log 2>&1 || { tail -30 build/replication-quick.log; exit 1; }
  /usr/bin/python3 -W ignore bench/append_bench.py --flushes 50 --rounds 1 \
    > build/append-quick.log 2>&1 || { tail -30 build/append-quick.log; exit 1; }
  /usr/bin/python3 -W ignore bench/batch_bench.py --count 256 --rounds 1 \
    > build/batch-quick.log 2>&1 || { tail -30 build/batch-quick.log; exit 1; }
  /usr/bin/python3 -W ignore bench/members_bench.py --count 512 --per-shard 128 --rounds 1 \
    > build/members-quick.log 2>&1 || { tail -30 build/members-quick.log; exit 1; }
  /usr/bin/python3 -W ignore bench/fanout_bench.py --size-mib 64 --procs 4 --rounds 1 \
    --ways curl,boto3,sluice,sluice-stream,sluice-ranged,cache-cold,cache-warm \
    > build/fanout-quick.log 2>&1 || { tail -30 build/fanout-quick.log; exit 1; }
  /usr/bin/python3 -W ignore bench/loader_bench.py --total-mib 128 --rounds 1 \
    > build/loader-quick.log 2>&1 || { tail -30 build/loader-quick.log; exit 1; }
  bench/metrics_bench.sh 1 1 > build/metrics-quick.log 2>&1 || { tail -30 build/metrics-quick.log; exit 1; }
  phase "bench --quick"
fi
# The cost counter (bench/costs.sh, docs/testing.md): server instructions per request under
# callgrind, which machine load hardly moves; more than 10% over bench/costs.baseline fails.
bench/costs.sh --check --json build/costs.json
phase "cost counter"

echo "=== 4/4: full suite (release build)"
ctest --test-dir build/release --output-on-failure -j "$jobs"
phase "tests: release"

if [ "${SLUICE_TEST_IMAGE:-0}" = 1 ]; then
  echo "=== 5/5: the container image, built and run"
  (cd tests/integration && SLUICE_TEST_IMAGE=1 /usr/bin/python3 -W ignore test_image.py)
  phase "image: build and run"
fi
