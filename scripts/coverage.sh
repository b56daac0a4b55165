#!/usr/bin/env bash
# Line coverage of src/ by the whole test suite (gcovr), the seed's bar being 90%.
# Many server processes update the same .gcda files as they exit; gcovr 5.2 can then meet a
# garbled branch counter, which --gcov-ignore-parse-errors skips (line counts are unaffected).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v gcovr >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y -qq gcovr; else sudo apt-get install -y -qq gcovr; fi
fi
cmake --preset coverage >/dev/null
cmake --build --preset coverage -j "$(nproc)"
find build-coverage -name '*.gcda' -delete
./scripts/with-test-services.sh bash -c 'cd build-coverage && ctest -j "$(nproc)" --output-on-failure'
gcovr --root . --filter 'src/' --object-directory build-coverage \
  --print-summary --gcov-ignore-parse-errors --txt build-coverage/coverage.txt \
  --html-details build-coverage/coverage.html | tail -3
echo "details: build-coverage/coverage.txt, build-coverage/coverage.html"
