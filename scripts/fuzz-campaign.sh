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
# SECONDS is wall-clock time, and the report gives the CPU seconds each target really had (a
# campaign at nice 19 on a busy machine gets less than it asked for); with
# SLUICE_FUZZ_BUDGET=cpu, SECONDS is CPU time: each target runs until it has had that much.
# Prints one Markdown row per target (runs, CPU seconds, coverage in edges and features,
# corpus size, findings) and keeps them in build/fuzz/campaign/report.md (SLUICE_FUZZ_REPORT
# names another file: two campaigns at once, one per core, need one each), for docs/fuzzing.md.
# SLUICE_FUZZ_IDLE=1 gives the campaign only idle CPU: it sets nice 19 on its autogroup too,
# because Linux shares the CPU between autogroups (one per session) before nice counts.
# Start it in a session of its own (setsid), or the whole calling session is lowered.
set -euo pipefail
if [ "${SLUICE_FUZZ_IDLE:-0}" = 1 ]; then
  renice -n 19 -p $$ >/dev/null
  echo 19 >/proc/$$/autogroup 2>/dev/null || echo "fuzz-campaign: autogroup not lowered" >&2
fi
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
report=${SLUICE_FUZZ_REPORT:-$OUT/report.md}
# Sets CPU to the CPU seconds (user + system) this shell's finished children have used;
# `times` runs in this shell (not in a $(...) subshell, whose children would be its own).
child_cpu() {
  times >"$OUT/.times.$$"
  CPU=$(awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }
                       printf "%d", t }' "$OUT/.times.$$")
}
{
  echo "Campaign of $(date -u +%Y-%m-%dT%H:%MZ), ${SECONDS_EACH} s per target, commit $(git rev-parse --short HEAD):"
  echo
  echo "| target | runs | CPU s | edges (cov) | features (ft) | corpus | findings |"
  echo "|---|---|---|---|---|---|---|"
} >"$report"
for name in "${targets[@]}"; do
  name=fuzz_${name#fuzz_}
  bin=build/fuzz/$name
  [ -x "$bin" ] || { echo "fuzz-campaign: no target $name" >&2; exit 2; }
  corpus=$OUT/$name
  seeds=tests/fuzz/seeds/${name#fuzz_}
  mkdir -p "$corpus"
  log=$OUT/$name.log
  : >"$log"
  status=0
  child_cpu
  cpu0=$CPU
  cpu=0
  runs=0
  # By wall clock: one run of SECONDS. By CPU (SLUICE_FUZZ_BUDGET=cpu): runs of at most ten
  # minutes, each resuming from the corpus, until the target has had SECONDS of CPU.
  while :; do
    slice=$SECONDS_EACH
    if [ "${SLUICE_FUZZ_BUDGET:-wall}" = cpu ]; then
      slice=$((SECONDS_EACH - cpu))
      [ "$slice" -gt 600 ] && slice=600
    fi
    "$bin" -max_total_time="$slice" -max_len=65536 -print_final_stats=1 -timeout=10 \
      -artifact_prefix="$OUT/" "$corpus" $( [ -d "$seeds" ] && echo "$seeds" ) >"$log.part" 2>&1 ||
      status=$?
    cat "$log.part" >>"$log"
    child_cpu
    cpu=$((CPU - cpu0))
    n=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log.part" | grep -oE '[0-9]+$' || echo 0)
    runs=$((runs + n))
    [ "$status" -ne 0 ] && break
    [ "${SLUICE_FUZZ_BUDGET:-wall}" = cpu ] && [ "$cpu" -lt "$((SECONDS_EACH - 5))" ] && continue
    break
  done
  rm -f "$log.part"
  last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(echo "$last" | grep -oE 'cov: [0-9]+' | grep -oE '[0-9]+' || echo "?")
  ft=$(echo "$last" | grep -oE 'ft: [0-9]+' | grep -oE '[0-9]+' || echo "?")
  files=$(find "$corpus" -type f | wc -l)
  finding="none"
  [ "$status" -ne 0 ] && finding="**crash (status $status): see $log**"
  row="| ${name#fuzz_} | $runs | $cpu | $cov | $ft | $files | $finding |"
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
