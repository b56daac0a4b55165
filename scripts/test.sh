#!/usr/bin/env bash
# make test (and CI): build the coverage preset, run every test with the throwaway services up,
# then the gates that need the whole run: line coverage of src/ >= COVERAGE_MIN (default 90)
# and clang-tidy on the sources changed by the last commit. Fails if any test or gate fails;
# ctest's summary line is printed last.
#   FUZZERS=build-fuzz/fuzz scripts/test.sh     (replays the fuzz corpora when set)
set -uo pipefail
cd "$(dirname "$0")/.."
build=build-coverage
jobs=${JOBS:-$(nproc)}
min=${COVERAGE_MIN:-90}
set -e
cmake --preset coverage ${FUZZERS:+-DASSISTANTD_FUZZERS="$FUZZERS"} >/dev/null
cmake --build --preset coverage -j "$jobs"
set +e
# Counters from an earlier run would inflate the figure.
find "$build" -name '*.gcda' -delete
./scripts/with-test-services.sh bash -c "cd $build && ctest -j $jobs --output-on-failure" |
  tee "$build/ctest.log"
tests=${PIPESTATUS[0]}

echo "== coverage (gcovr, src/, at least $min% of lines)"
./scripts/coverage.sh --report --fail-under "$min"
coverage=$?

echo "== clang-tidy (sources changed by the last commit)"
TIDY_BUILD_DIR=$build ./scripts/tidy-changed.sh
tidy=$?

failed=()
[ "$tests" -eq 0 ] || failed+=("tests")
[ "$coverage" -eq 0 ] || failed+=("coverage")
[ "$tidy" -eq 0 ] || failed+=("clang-tidy")
[ ${#failed[@]} -eq 0 ] || echo "make test: FAILED: ${failed[*]}"
summary=$(grep -E '^[0-9]+% tests passed' "$build/ctest.log" | tail -1)
echo "${summary:-no ctest summary (the build or the test services failed)}"
[ ${#failed[@]} -eq 0 ]
