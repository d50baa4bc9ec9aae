#!/usr/bin/env bash
# A fuzzing campaign: every libFuzzer target in tests/fuzz (or those named) for SECONDS
# each, one after another on one core, each resuming from its corpus of earlier campaigns
# (build/fuzz/campaign/NAME) and the committed seeds (tests/fuzz/seeds/NAME).
#   scripts/fuzz-campaign.sh [SECONDS] [TARGET...]     SECONDS defaults to 3600 (one CPU-hour)
#   SLUICE_FUZZ_UPDATE_SEEDS=1 scripts/fuzz-campaign.sh ...
#       then merges what the run found into tests/fuzz/seeds/NAME: only inputs that add
#       coverage (libFuzzer's -merge=1), so the seeds stay small; commit them.
# A crash stops the campaign with its reproducer in build/fuzz/campaign/ (crash-*, leak-*,
# timeout-*) and the target's log; fix it, add the reproducer to the seeds, run again.
# Prints one Markdown row per target (runs, coverage in edges and features, corpus size,
# findings) and keeps them in build/fuzz/campaign/report.md, for docs/fuzzing.md.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-3600}
shift || true
CC=clang CXX=clang++ cmake -S tests/fuzz -B build/fuzz -G Ninja >/dev/null
cmake --build build/fuzz >/dev/null
OUT=build/fuzz/campaign
mkdir -p "$OUT"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in build/fuzz/fuzz_*; do [ -x "$f" ] && targets+=("$(basename "$f")"); done
fi
report="$OUT/report.md"
{
  echo "Campaign of $(date -u +%Y-%m-%dT%H:%MZ), ${SECONDS_EACH} s per target, commit $(git rev-parse --short HEAD):"
  echo
  echo "| target | runs | edges (cov) | features (ft) | corpus | findings |"
  echo "|---|---|---|---|---|---|"
} >"$report"
for name in "${targets[@]}"; do
  name=fuzz_${name#fuzz_}
  bin=build/fuzz/$name
  [ -x "$bin" ] || { echo "fuzz-campaign: no target $name" >&2; exit 2; }
  corpus=$OUT/$name
  seeds=tests/fuzz/seeds/${name#fuzz_}
  mkdir -p "$corpus"
  log=$OUT/$name.log
  status=0
  "$bin" -max_total_time="$SECONDS_EACH" -max_len=65536 -print_final_stats=1 -timeout=10 \
    -artifact_prefix="$OUT/" "$corpus" $( [ -d "$seeds" ] && echo "$seeds" ) >"$log" 2>&1 || status=$?
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo "?")
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(echo "$last" | grep -oE 'cov: [0-9]+' | grep -oE '[0-9]+' || echo "?")
  ft=$(echo "$last" | grep -oE 'ft: [0-9]+' | grep -oE '[0-9]+' || echo "?")
  files=$(find "$corpus" -type f | wc -l)
  finding="none"
  [ "$status" -ne 0 ] && finding="**crash (status $status): see $log**"
  row="| ${name#fuzz_} | $runs | $cov | $ft | $files | $finding |"
  echo "$row" | tee -a "$report"
  if [ "$status" -ne 0 ]; then
    tail -40 "$log" >&2
    exit 1
  fi
  if [ "${SLUICE_FUZZ_UPDATE_SEEDS:-0}" = 1 ]; then
    mkdir -p "$seeds"
    "$bin" -merge=1 -max_len=65536 "$seeds" "$corpus" >"$OUT/$name.merge.log" 2>&1
  fi
done
echo "fuzz-campaign: report in $report"
