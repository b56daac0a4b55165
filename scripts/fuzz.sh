#!/usr/bin/env bash
# Runs the libFuzzer targets of build-fuzz/ (make fuzz): each for FUZZ_SECONDS (default 60),
# or only FUZZ_TARGET. New inputs go to build-fuzz/corpus/<target>/ (the committed seeds in
# fuzz/corpus/<target>/ are read, not written); a crash's input is saved as
# fuzz/crashes/<target>/crash-… to commit with its fix. Prints executions, coverage and
# findings per target, and the CPU time it used (max_total_time is wall-clock: on a busy
# machine a run gets less than FUZZ_SECONDS of CPU); exits non-zero if any target found something.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGET:-$(ls fuzz/corpus)}
status=0
printf '%-18s %12s %8s %8s %8s %s\n' target executions cov ft cpu_min finding
for t in $targets; do
  bin=build-fuzz/fuzz/$t
  [ -x "$bin" ] || { echo "$bin is not built (make fuzz builds it)" >&2; exit 2; }
  mkdir -p "build-fuzz/corpus/$t" "fuzz/crashes/$t"
  log=build-fuzz/$t.log
  TIMEFORMAT='%U %S'
  { time "$bin" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=4096 -timeout=25 \
    -artifact_prefix="fuzz/crashes/$t/" "build-fuzz/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1
    echo "rc=$?" >"$log.rc"; } 2>"$log.cpu"
  rc=$(sed 's/rc=//' "$log.rc")
  cpu=$(awk '{printf "%.1f", ($1 + $2) / 60}' "$log.cpu")
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
  finding=none
  if [ $rc -ne 0 ]; then
    finding=$(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' "$log" || echo "exit $rc")
    status=1
  fi
  rmdir "fuzz/crashes/$t" 2>/dev/null
  printf '%-18s %12s %8s %8s %8s %s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$cpu" "$finding"
done
exit $status
