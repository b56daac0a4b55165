#!/usr/bin/env bash
# clang-tidy (.clang-tidy) on the C++ sources changed since BASE (default: the parent commit;
# uncommitted changes count too), and on the sources beside a changed header. The checks named
# in .clang-tidy's WarningsAsErrors fail it; the others are printed as warnings.
#   scripts/tidy-changed.sh [BASE]          e.g. origin/main, HEAD~5
#   TIDY_BUILD_DIR=build scripts/tidy-changed.sh   (a configured build: compile_commands.json)
#   scripts/tidy-changed.sh --all           every source (about 45 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${TIDY_BUILD_DIR:-build-coverage}
tidy=$(command -v clang-tidy-14 || command -v clang-tidy)
[ -f "$build/compile_commands.json" ] || { echo "tidy: no $build/compile_commands.json" >&2; exit 1; }
compiled() { grep -o '"file": *"[^"]*"' "$build/compile_commands.json" | sed 's/.*"\([^"]*\)"$/\1/'; }
if [ "${1:-}" = "--all" ]; then
  mapfile -t files < <(compiled | grep "^$PWD/\(src\|tools\)/" | sort -u)
else
  base=${1:-HEAD~1}
  if ! git rev-parse -q --verify "$base^{commit}" >/dev/null; then
    echo "clang-tidy: no $base to compare with (a shallow clone?); nothing checked"
    exit 0
  fi
  mapfile -t changed < <(git diff --name-only --diff-filter=d "$base" -- src tools tests bench fuzz |
    grep -E '\.(cpp|hpp)$' | grep -v node_modules || true)
  declare -A wanted=()
  for f in "${changed[@]}"; do
    [ -n "$f" ] || continue
    cpp="${f%.hpp}.cpp"
    [ -f "$cpp" ] && wanted["$PWD/$cpp"]=1
  done
  mapfile -t all < <(compiled | sort -u)
  files=()
  for f in "${all[@]}"; do [ -n "${wanted[$f]:-}" ] && files+=("$f"); done
fi
if [ ${#files[@]} -eq 0 ]; then
  echo "clang-tidy: no C++ source changed since ${base:-?}"
  exit 0
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
printf '%s\n' "${files[@]}" | xargs -P "$(nproc)" -n 1 "$tidy" -p "$build" --quiet \
  --extra-arg=-Wno-unknown-warning-option >"$log" 2>/dev/null || status=$?
errors=$(grep -c ': error: ' "$log" || true)
warnings=$(grep -c ': warning: ' "$log" || true)
grep -E ': (error|warning): ' "$log" | sort -u || true
if [ "$status" -ne 0 ] || [ "$errors" -ne 0 ]; then
  echo "clang-tidy: FAILED, $errors errors in ${#files[@]} files (checks in .clang-tidy WarningsAsErrors)"
  exit 1
fi
echo "clang-tidy: ${#files[@]} files, no errors ($warnings warnings)"
