#!/usr/bin/env bash
# Fails when clang-format (14, .clang-format) would change any C++ file of src/ tests/ tools/
# bench/ fuzz/, naming the files; `scripts/check-format.sh --fix` rewrites them instead.
set -euo pipefail
cd "$(dirname "$0")/.."
format=$(command -v clang-format-14 || command -v clang-format)
mapfile -t files < <(find src tests tools bench fuzz -path tests/clients/node_modules -prune -o \
  \( -name '*.cpp' -o -name '*.hpp' \) -print | sort)
if [ "${1:-}" = "--fix" ]; then
  "$format" -i "${files[@]}"
  exit 0
fi
# One run over all files; each needed change is reported as "FILE:LINE:COL: error: …".
mapfile -t bad < <("$format" --dry-run -Werror "${files[@]}" 2>&1 |
  sed -n 's/^\([^:]*\):[0-9]*:[0-9]*: error: .*/\1/p' | sort -u)
if [ ${#bad[@]} -gt 0 ]; then
  printf 'not formatted (run scripts/check-format.sh --fix): %s\n' "${bad[@]}"
  exit 1
fi
echo "clang-format: ${#files[@]} files, all formatted"
