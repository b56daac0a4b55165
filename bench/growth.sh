#!/usr/bin/env bash
# List queries as the assistants table grows (issue 12 item 5), on SQLite: for each size, a
# fresh database is filled straight through SQL (one user owning every row, a few rows of
# rare kinds among them), a sample is created through the API on top, and each documented
# list query is timed through the API (the median of RUNS requests, curl's total time).
# Writes a Markdown table to stdout (bench/run.sh includes it in docs/benchmarks.md).
# Knobs: GROWTH_SIZES (default "1000 100000 1000000"), RUNS (15), BIN (build-release).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-build-release}"
SIZES="${GROWTH_SIZES:-1000 100000 1000000}"
RUNS="${RUNS:-15}"
source scripts/lib.sh

owner=7a1d2c6e-0b51-4a1e-9d6a-0a1b2c3d4e5f
work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# fill DB N: N assistants for $owner, created_at ascending; 1 in 1000 failed, 1 in 500 a
# test assistant, three named "Zebra" (a rare match).
fill() {
  sqlite3 "$1" <<SQL
PRAGMA journal_mode=WAL;
PRAGMA trusted_schema=ON;
INSERT INTO users (id, email, role, created_at, updated_at) VALUES
  ('$owner', 'growth@example.com', 'user', 1, 1);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
INSERT INTO assistants (id, user_id, name, first_message, metadata, is_test, sync_status,
                        version, created_at, updated_at)
SELECT printf('%08x-0000-7000-8000-%012x', i / 65536, i), '$owner',
       CASE WHEN i IN ($2 / 3, $2 / 2, $2 - 7) THEN 'Zebra ' || i ELSE 'Bot ' || i END,
       'Hello!', CASE WHEN i % 500 = 0 THEN '{"isTest":true}' END, i % 500 = 0,
       CASE WHEN i % 1000 = 0 THEN 'failed' ELSE 'synced' END, 1,
       1767225600000000 + i, 1767225600000000 + i
FROM n;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
}

# median_ms URL TOKEN → the median total time of RUNS GETs, in ms
median_ms() {
  local i
  for i in $(seq 1 "$RUNS"); do
    curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -H "Authorization: Bearer $2" "$1"
  done | awk -v url="$1" '$1 != 200 {print "status " $1 " for " url > "/dev/stderr"; exit 1}
    {print $2}' | sort -n | awk '{a[NR] = $1} END {printf "%.2f", a[int((NR + 1) / 2)] * 1000}'
}

queries=("first page|limit=20" "cursor page|CURSOR" "syncStatus=failed|syncStatus=failed&limit=20"
  "isTest=true|isTest=true&limit=20" "q, rare match|q=zebra&limit=20" "q, no match|q=nomatchx&limit=20"
  "q + syncStatus|q=bot&syncStatus=failed&limit=20" "admin, every user|ADMIN")
declare -A result
for n in $SIZES; do
  dir="$work/$n"
  "$BIN"/assistantd migrate --data-dir "$dir" >/dev/null 2>&1
  fill "$dir/assistantd.db" "$n" >/dev/null
  start_bg "$work/$n.log" "$BIN"/assistantd serve --listen 127.0.0.1:0 --data-dir "$dir" \
    --log-level info --rate-limit-user 1000000000/1m --max-assistants-user 1000000000 \
    --rate-limit-token-ip 0
  addr="$(wait_addr "$work/$n.log")"
  token="$("$BIN"/assistantd token --data-dir "$dir" --sub "$owner" --ttl 1h)"
  admin="$("$BIN"/assistantd token --data-dir "$dir" --sub 00000000-0000-4000-8000-00000000a0a0 \
    --role admin --ttl 1h)"
  # The sample through the API, on top of the rows written straight in.
  for i in $(seq 1 20); do
    curl -s -o /dev/null -X POST "http://$addr/v1/assistants" -H "Authorization: Bearer $token" \
      -H 'Content-Type: application/json' -d "{\"name\":\"Sample $i\"}"
  done
  cursor="$(curl -s "http://$addr/v1/assistants?limit=20" -H "Authorization: Bearer $token" |
    sed -nE 's/.*"nextCursor":"([^"]+)".*/\1/p')"
  [ -n "$cursor" ] || { echo "no nextCursor on the first page" >&2; exit 1; }
  for entry in "${queries[@]}"; do
    name="${entry%%|*}"
    query="${entry#*|}"
    who="$token"
    case "$query" in
      CURSOR) query="limit=20&cursor=$cursor" ;;
      ADMIN) query="limit=20" who="$admin" ;;
    esac
    result["$name|$n"]="$(median_ms "http://$addr/v1/assistants?$query" "$who")"
  done
  kill "${pids[-1]}"
  wait "${pids[-1]}" 2>/dev/null || true
done

header="| list query (median ms) |"
rule="|---|"
for n in $SIZES; do
  header+=" $n rows |"
  rule+="---:|"
done
first="${SIZES%% *}"
last="${SIZES##* }"
header+=" $last / $first |"
rule+="---:|"
echo "$header"
echo "$rule"
for entry in "${queries[@]}"; do
  name="${entry%%|*}"
  line="| $name |"
  for n in $SIZES; do line+=" ${result["$name|$n"]} |"; done
  line+=" $(awk -v a="${result["$name|$first"]}" -v b="${result["$name|$last"]}" \
    'BEGIN {printf "%.2f×", b / a}') |"
  echo "$line"
done
