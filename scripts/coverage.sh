#!/usr/bin/env bash
# Line coverage of src/ by the whole test suite (gcovr), the seed's bar being 90%.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v gcovr >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y -qq gcovr; else sudo apt-get install -y -qq gcovr; fi
fi
cmake --preset coverage >/dev/null
cmake --build --preset coverage -j "$(nproc)"
find build-coverage -name '*.gcda' -delete
(cd build-coverage && ctest -j "$(nproc)" --output-on-failure)
gcovr --root . --filter 'src/' --object-directory build-coverage \
  --print-summary --txt build-coverage/coverage.txt \
  --html-details build-coverage/coverage.html | tail -3
echo "details: build-coverage/coverage.txt, build-coverage/coverage.html"
