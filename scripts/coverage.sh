#!/usr/bin/env bash
# Line coverage of src/ (gcovr) from the counters the last `make test` left in build-coverage/
# (scripts/test.sh runs this after the suite with --fail-under 90, the seed's bar).
#   scripts/coverage.sh [--fail-under PERCENT]
# Writes build-coverage/coverage.txt (per file) and build-coverage/coverage.html (annotated).
# Many server processes update the same .gcda files as they exit; gcovr 5.2 can then meet a
# garbled branch counter, which --gcov-ignore-parse-errors skips (line counts are unaffected).
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-coverage
min=0
while [ $# -gt 0 ]; do
  case "$1" in
    --report) shift ;;  # the only mode; kept for scripts/test.sh's readability
    --fail-under) min=$2; shift 2 ;;
    *) echo "usage: scripts/coverage.sh [--fail-under PERCENT]" >&2; exit 64 ;;
  esac
done
if ! find "$build" -name '*.gcda' -print -quit 2>/dev/null | grep -q .; then
  echo "coverage: no counters in $build/ (run make test first)" >&2
  exit 1
fi
rc=0
gcovr --root . --filter 'src/' --object-directory "$build" -j "$(nproc)" \
  --gcov-ignore-parse-errors --print-summary --fail-under-line "$min" \
  --txt "$build/coverage.txt" --html-details "$build/coverage.html" >"$build/gcovr.log" 2>&1 || rc=$?
grep -E '^(lines|functions|branches):' "$build/gcovr.log" || tail -5 "$build/gcovr.log"
if [ "$rc" -ne 0 ]; then
  echo "coverage: FAILED, line coverage below $min% (or gcovr failed: $build/gcovr.log)"
else
  echo "coverage: line coverage at least $min%; details: $build/coverage.txt, $build/coverage.html"
fi
exit "$rc"
