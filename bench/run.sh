#!/usr/bin/env bash
# Runs the benchmarks in one go on this machine and writes docs/benchmarks.md:
#   1. the bare Boost.Beast keep-alive responder (the ceiling),
#   2. assistantd GET /v1/assistants/{id},
#   3. assistantd POST /v1/assistants (durable create),
# each with wrk at 32 connections over loopback. Everything binds to 127.0.0.1 and stops by
# itself. Knobs: DURATION (default 10s), CONNECTIONS (32), WRK_THREADS (2), APP_FLAGS (extra
# serve flags, e.g. "--threads 1").
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-32}"
WRK_THREADS="${WRK_THREADS:-2}"

BIN=build-release
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target assistantd ceiling_responder vapi-sim jwt_bench validation_bench >/dev/null

source scripts/lib.sh
[ -x bench/peer/node_modules/.bin/deno ] || npm ci --prefix bench/peer --no-audit --no-fund >/dev/null
# rss PID → resident memory in MiB
rss() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }

# run_wrk NAME SCRIPT URL → writes $work/NAME.txt
run_wrk() {
  wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency ${2:+-s "$2"} "$3" >"$work/$1.txt" 2>"$work/$1.err"
}

rps() { awk '/^Requests\/sec:/ {print $2}' "$1"; }
# batch_stages METRICS_FILE → one line per write-batch stage: batches, mean ms, and the share
# of batches over 10 ms and over 100 ms (from the assistantd_write_batch_seconds histogram)
batch_stages() {
  awk -F'[{}", ]+' '
    /^assistantd_write_batch_seconds_bucket/ {
      for (i = 1; i < NF; i++) { if ($i == "stage=") st = $(i + 1); if ($i == "le=") le = $(i + 1) }
      if (le == "0.01") b10[st] = $NF; if (le == "0.1") b100[st] = $NF }
    /^assistantd_write_batch_seconds_sum/ { for (i = 1; i < NF; i++) if ($i == "stage=") sum[$(i + 1)] = $NF }
    /^assistantd_write_batch_seconds_count/ { for (i = 1; i < NF; i++) if ($i == "stage=") n[$(i + 1)] = $NF }
    END { split("begin run commit sync", order, " ")
      for (k = 1; k <= 4; k++) { st = order[k]; if (n[st] == 0) continue
        printf "    %-6s %8d batches, mean %.2f ms, over 10 ms %.2f%%, over 100 ms %.3f%%\n", st, n[st],
          1000 * sum[st] / n[st], 100 * (n[st] - b10[st]) / n[st], 100 * (n[st] - b100[st]) / n[st] } }' "$1"
}
# pct FILE 50% → latency in ms
pct() {
  awk -v p="$2" '$1 == p {
    v = $2; unit = v; gsub(/[0-9.]/, "", unit); gsub(/[a-z]/, "", v);
    if (unit == "us") v = v / 1000; else if (unit == "s") v = v * 1000;
    printf "%.2f", v }' "$1"
}
errors() { grep -c "unexpected status" "$1" || true; }

# Sync throughput against vapi-sim (no faults), with its own servers; three runs, as the
# spread on a shared 2-core machine is wide. First, before the HTTP load leaves the disk busy
# writing back.
sync_lines=""
for _ in 1 2 3; do
  sync_lines+="    $(BIN="$BIN" WORKERS=4 ./bench/sync_throughput.sh)"$'\n'
done
# List queries from 1k to 1M rows, each size in a database of its own (bench/growth.sh).
growth_table="$(BIN="$BIN" ./bench/growth.sh)"
# The request limiter runs on every request, with a limit wrk cannot reach, and the
# benchmark's one user may own any number of assistants; the auth endpoints' limits are off
# for the sign-in benchmark.
LIMIT_FLAGS="--rate-limit-user 1000000000/1m --max-assistants-user 1000000000 --rate-limit-token-ip 0 \
  --rate-limit-signin-account 0"
# Port 0 everywhere: each server reports the port it got, so a busy port cannot mislead us.
start_bg "$work/ceiling.log" "$BIN"/ceiling_responder 0
# shellcheck disable=SC2086
start_bg "$work/assistantd.log" "$BIN"/assistantd serve --listen 127.0.0.1:0 \
  --data-dir "$work/data" --log-level info $LIMIT_FLAGS ${APP_FLAGS:-}
APP_PID="${pids[-1]}"
CEILING="$(wait_addr "$work/ceiling.log")"
APP="$(wait_addr "$work/assistantd.log")"
RSS_IDLE="$(rss "$APP_PID")"
# The peer: the seed's edge function as such functions are written (bench/peer), with the
# same JWT secret.
PEER_DB="$work/peer.db" PEER_JWT_SECRET_FILE="$work/data/jwt-secret" start_bg "$work/peer.log" \
  bench/peer/node_modules/.bin/deno run --no-remote --no-prompt --allow-env --allow-read \
  --allow-write --allow-net=127.0.0.1 bench/peer/main.ts
PEER="$(wait_addr "$work/peer.log")"

# The same service on PostgreSQL (a throwaway cluster with PostgreSQL's durable defaults),
# sharing the data dir's secrets so one token serves both.
services="$(mktemp -d)"
trap './scripts/test-services.sh stop "$services"; cleanup' EXIT
PG_DURABLE=1 ./scripts/test-services.sh start "$services" >/dev/null
# shellcheck disable=SC1091
source "$services/env"
pg_url="${ASSISTANTD_TEST_PG_URL%/postgres}/bench"
psql -q "$ASSISTANTD_TEST_PG_URL" -c "CREATE DATABASE bench"
# shellcheck disable=SC2086
start_bg "$work/assistantd-pg.log" "$BIN"/assistantd serve --listen 127.0.0.1:0 \
  --data-dir "$work/data" --database-url "$pg_url" --log-level info $LIMIT_FLAGS ${APP_FLAGS:-}
APP_PG="$(wait_addr "$work/assistantd-pg.log")"
# And with the limits counted in Redis (the throwaway server test-services.sh runs): on
# SQLite (a data dir of its own, as one process owns a SQLite file, with the same JWT secret)
# and as a second instance on the PostgreSQL database.
mkdir -p "$work/data-redis"
cp -p "$work/data/jwt-secret" "$work/data-redis/jwt-secret"
# shellcheck disable=SC2086
start_bg "$work/assistantd-redis.log" "$BIN"/assistantd serve --listen 127.0.0.1:0 \
  --data-dir "$work/data-redis" --log-level info --redis-url "$ASSISTANTD_TEST_REDIS_URL" $LIMIT_FLAGS ${APP_FLAGS:-}
APP_REDIS="$(wait_addr "$work/assistantd-redis.log")"
# shellcheck disable=SC2086
start_bg "$work/assistantd-pg-redis.log" "$BIN"/assistantd serve --listen 127.0.0.1:0 \
  --data-dir "$work/data" --database-url "$pg_url" --log-level info \
  --redis-url "$ASSISTANTD_TEST_REDIS_URL" $LIMIT_FLAGS ${APP_FLAGS:-}
APP_PG_REDIS="$(wait_addr "$work/assistantd-pg-redis.log")"

# The same on SQLite with our own ES256 signing key (a data dir of its own: its key ring and
# database), for GET by id with ES256 tokens beside HS256.
# shellcheck disable=SC2086
start_bg "$work/assistantd-es.log" "$BIN"/assistantd serve --listen 127.0.0.1:0 \
  --data-dir "$work/data-es" --log-level info --jwt-algorithm ES256 $LIMIT_FLAGS ${APP_FLAGS:-}
APP_ES="$(wait_addr "$work/assistantd-es.log")"

sub="$(cat /proc/sys/kernel/random/uuid)"
export TOKEN
TOKEN="$("$BIN"/assistantd token --data-dir "$work/data" --sub "$sub" --ttl 1h)"
# bench_assistant HOST:PORT → the path of a new assistant there
bench_assistant() {
  local created id
  created="$(curl -s -X POST "http://$1/v1/assistants" -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d '{"name":"Bench bot","firstMessage":"Hi"}')"
  id="$(echo "$created" | sed -nE 's/.*"id":"([0-9a-f-]{36})".*/\1/p')"
  [ -n "$id" ] || { echo "could not create the benchmark assistant: $created" >&2; exit 1; }
  echo "/v1/assistants/$id"
}

run_wrk ceiling "" "http://$CEILING/"
export ASSISTANT_PATH CREATE_PATH WRK_THREADS IDS_FILE
created="$(curl -s -X POST "http://$PEER/functions/v1/assistants" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"name":"Bench bot","firstMessage":"Hi"}')"
ASSISTANT_PATH="/functions/v1/assistants/$(echo "$created" | sed -nE 's/.*"id":"([0-9a-f-]{36})".*/\1/p')"
run_wrk peer_get_by_id bench/get_by_id.lua "http://$PEER"
CREATE_PATH=/functions/v1/assistants run_wrk peer_create bench/create.lua "http://$PEER"
ASSISTANT_PATH="$(bench_assistant "$APP")"
run_wrk get_by_id bench/get_by_id.lua "http://$APP"
# The same assistant revalidated: If-None-Match with its current ETag, answered 304.
ETAG="$(curl -s -D - -o /dev/null "http://$APP$ASSISTANT_PATH" -H "Authorization: Bearer $TOKEN" \
  | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')"
ETAG="$ETAG" run_wrk revalidate bench/revalidate.lua "http://$APP"
# The first page (20) of the user's list, once they own 100 assistants.
for _ in $(seq 98); do bench_assistant "$APP" >/dev/null; done
ONE_PATH="$ASSISTANT_PATH"
ASSISTANT_PATH="/v1/assistants?limit=20" run_wrk list_first_page bench/get_by_id.lua "http://$APP"
ASSISTANT_PATH="$ONE_PATH"
# Right after, in the same conditions: the same GET with an ES256 token.
HS_TOKEN="$TOKEN"
TOKEN="$("$BIN"/assistantd token --data-dir "$work/data-es" --sub "$sub" --ttl 1h)"
ASSISTANT_PATH="$(bench_assistant "$APP_ES")"
run_wrk get_by_id_es256 bench/get_by_id.lua "http://$APP_ES"
TOKEN="$HS_TOKEN"
ASSISTANT_PATH="$(bench_assistant "$APP")"
run_wrk create bench/create.lua "http://$APP"
RSS_AFTER_1="$(rss "$APP_PID")"
run_wrk patch bench/patch.lua "http://$APP"
# The leak check: the same create benchmark twice more; resident memory after each run.
run_wrk create_2 bench/create.lua "http://$APP"
RSS_AFTER_2="$(rss "$APP_PID")"
run_wrk create_3 bench/create.lua "http://$APP"
RSS_AFTER_3="$(rss "$APP_PID")"
# Deletes of what the three create runs made (more than one run can delete).
IDS_FILE="$work/ids.txt"
sqlite3 "$work/data/assistantd.db" \
  "SELECT id FROM assistants WHERE sync_status <> 'deleting' ORDER BY created_at DESC" > "$IDS_FILE"
run_wrk delete bench/delete.lua "http://$APP"
# Where the SQLite server's write batches spent their time over all its write runs.
curl -s "http://$APP/metrics" >"$work/metrics-sqlite.txt"
ASSISTANT_PATH="$(bench_assistant "$APP_PG")"
run_wrk get_by_id_pg bench/get_by_id.lua "http://$APP_PG"
run_wrk create_pg bench/create.lua "http://$APP_PG"
curl -s "http://$APP_PG/metrics" >"$work/metrics-pg.txt"
run_wrk get_by_id_pg_2 bench/get_by_id.lua "http://$APP_PG"
run_wrk get_by_id_pg_redis bench/get_by_id.lua "http://$APP_PG_REDIS"
curl -s "http://$APP_PG/metrics" >"$work/metrics-pg-reads.txt"
# Redis beside in-process limits on SQLite, back to back.
ASSISTANT_PATH="$(bench_assistant "$APP_REDIS")"
run_wrk get_by_id_redis bench/get_by_id.lua "http://$APP_REDIS"
ASSISTANT_PATH="$ONE_PATH" run_wrk get_by_id_2 bench/get_by_id.lua "http://$APP"
# Verification alone (Google Benchmark): a signature checked from scratch vs a token already
# verified (the digest cache).
"$BIN"/jwt_bench --benchmark_min_time=0.5 --benchmark_format=console 2>/dev/null \
  | awk '/^(Uncached|Cached)\// {printf "    %-16s %10s %s\n", $1, $2, $3}' > "$work/jwt_bench.txt"
# Validating one assistant with Vapi's schema (Google Benchmark).
"$BIN"/validation_bench --benchmark_min_time=0.5 --benchmark_format=console 2>/dev/null \
  | awk '/^(Validate|ValidateCorpus|CompileSchema) / {printf "    %-16s %10s %s\n", $1, $2, $3}' \
  > "$work/validation_bench.txt"
# Password sign-in: one argon2id verification (19 MiB, 2 passes) and a new session each.
export EMAIL PASSWORD
EMAIL="bench-$(date +%s)@example.com"
PASSWORD="bench password $sub"
curl -s -o /dev/null -X POST "http://$APP/auth/v1/signup" -H 'Content-Type: application/json' \
  -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}"
run_wrk signin bench/signin.lua "http://$APP"

# Hand-written notes (from "## Notes" on) survive a re-run.
notes="$(sed -n '/^## Notes/,$p' docs/benchmarks.md 2>/dev/null || true)"

ceiling_rps="$(rps "$work/ceiling.txt")"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f%%", 100 * a / b }'; }
row() {  # row LABEL NAME [PEER_NAME]: the figures, vs the ceiling and (given) vs the peer
  local f="$work/$2.txt" r vs_peer=""
  r="$(rps "$f")"
  [ -n "${3:-}" ] && vs_peer="$(ratio "$r" "$(rps "$work/$3.txt")")"
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$r" "$(pct "$f" 50%)" "$(pct "$f" 99%)" \
    "$(ratio "$r" "$ceiling_rps")" "$vs_peer" "$(errors "$work/$2.err")"
}

{
  echo "# Benchmarks"
  echo
  echo "Produced by \`bench/run.sh\` (\`make bench\`) on $(date -u +%Y-%m-%d), $(nproc) cores,"
  echo "$(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM; release build; wrk -t$WRK_THREADS -c$CONNECTIONS -d$DURATION over"
  echo "loopback, all measured in the same run. The load generator shares the two cores"
  echo "with the server, as it does for the ceiling. PostgreSQL 15 runs on the same machine"
  echo "with its durable defaults (fsync, synchronous_commit on)."
  echo
  echo "| target | req/s | p50 ms | p99 ms | vs ceiling | vs peer | non-2xx |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  row "ceiling: bare Beast keep-alive responder" ceiling
  row "peer (Deno + jose + node:sqlite, no fsync): GET by id" peer_get_by_id
  row "peer (Deno + jose + node:sqlite, no fsync): create" peer_create
  row "assistantd GET /v1/assistants/{id}" get_by_id peer_get_by_id
  row "assistantd GET /v1/assistants/{id}, ES256 token (own signing key)" get_by_id_es256 peer_get_by_id
  row "assistantd GET /v1/assistants/{id} with If-None-Match (304)" revalidate
  row "assistantd POST /v1/assistants (durable create)" create peer_create
  row "assistantd PATCH /v1/assistants/{id} (durable)" patch
  row "assistantd DELETE /v1/assistants/{id} (durable)" delete
  row "assistantd on PostgreSQL: GET /v1/assistants/{id}" get_by_id_pg peer_get_by_id
  row "assistantd on PostgreSQL: POST /v1/assistants (durable create)" create_pg peer_create
  row "assistantd GET /v1/assistants/{id}, rate limit counted in Redis" get_by_id_redis peer_get_by_id
  row "assistantd GET /v1/assistants/{id} (again, right after the Redis row)" get_by_id_2 peer_get_by_id
  row "assistantd on PostgreSQL: GET /v1/assistants/{id} (again, a second instance beside it)" get_by_id_pg_2 peer_get_by_id
  row "assistantd on PostgreSQL: GET /v1/assistants/{id}, rate limit counted in Redis" get_by_id_pg_redis peer_get_by_id
  row "assistantd GET /v1/assistants?limit=20 (first page of 100)" list_first_page peer_get_by_id
  row "assistantd POST /auth/v1/token?grant_type=password (argon2id)" signin
  echo
  echo "- GET by id: JWT verification (HS256, from the verifier's cache), the user and request"
  echo "  limiter from memory, the assistant from the read cache (its row, rendered body and ETag;"
  echo "  docs/architecture.md, \"The read cache\"), metrics and one JSON access-log line per"
  echo '  request (the default info level, stderr redirected to a file). All of it runs on the I/O'
  echo "  thread that read the request; a miss or a cold token moves to the handler pool. On"
  echo "  PostgreSQL each cached read waits for the shared read barrier (one NOTIFY round trip per"
  echo "  batch of reads) so it can never be older than a write acknowledged by any instance."
  echo "  Cache lookups over the PostgreSQL GET runs: $(grep -E '^assistantd_cache_lookups_total' "$work/metrics-pg-reads.txt" | tr '\n' ' ')"
  echo "- Create, patch, delete: validation of every field, the quota check (a counter row), the"
  echo "  row, its sync job and its audit entry, each write part of a group commit shared with"
  echo "  the writes that arrived meanwhile, acknowledged only after that commit's WAL fdatasync"
  echo "  (made while the next batch runs), so p99 includes the disk. No handler thread waits"
  echo "  for the disk. The sync"
  echo "  workers run too (no Vapi key here, so each job fails fast and waits). Delete deletes a"
  echo "  different assistant per request (those the create runs made)."
  echo '- The peer (`bench/peer`): the seed'"'"'s edge function written as such functions are, on'
  echo "  Deno 2 with jose and node:sqlite in WAL mode with synchronous=NORMAL and no fsync of its"
  echo "  own: an acknowledged create there can be lost with the machine's power."
  echo "- Where the write batches' time went (assistantd_write_batch_seconds, over all the write"
  echo "  runs of each server; a write waits for its batch's begin, run and commit, then a sync):"
  echo ""
  echo "    SQLite:"
  batch_stages "$work/metrics-sqlite.txt"
  echo "    PostgreSQL:"
  batch_stages "$work/metrics-pg.txt"
  echo ""
  echo "- Memory (assistantd on SQLite, resident): ${RSS_IDLE} MiB idle; after the first create run"
  echo "  ${RSS_AFTER_1} MiB, after two more ${RSS_AFTER_2} and ${RSS_AFTER_3} MiB."
  echo "- On PostgreSQL each request is a transaction as the row-level-security role with the"
  echo "  caller's claims set: a GET sends BEGIN, SET LOCAL ROLE, set_config, the statement and"
  echo "  COMMIT in one libpq pipeline (one round trip); creates run in the write batches, each"
  echo "  in a savepoint (quota check, row, sync job, audit entry), their statements sharing"
  echo "  pipelines (one round trip per 32 creates); a batch commits without waiting and is"
  echo "  acknowledged after one WAL flush for all committed batches. The sync workers run too"
  echo "  (no Vapi key: each job is claimed, fails fast and waits); without them"
  echo "  (bench/pg_writes.sh, --sync-workers 0) creates run at 1.4-1.6k/s. PostgreSQL shares"
  echo "  the two cores with assistantd and wrk."
  echo "- Every row but the ceiling runs the per-user request limiter (in process; in Redis for"
  echo "  the Redis rows: hits reserved in batches of up to 64 by one script, so most requests"
  echo "  spend a local lease and the bound stays exact across instances) with a limit wrk cannot"
  echo "  reach. Redis vs in process, back to back: SQLite $(ratio "$(rps "$work/get_by_id_redis.txt")" "$(rps "$work/get_by_id_2.txt")"),"
  echo "  PostgreSQL $(ratio "$(rps "$work/get_by_id_pg_redis.txt")" "$(rps "$work/get_by_id_pg_2.txt")")."
  echo "- ES256: the same GET with tokens signed by the key ring's P-256 key. An ECDSA check"
  echo "  costs tens of microseconds, so each token is verified once and then served from the"
  echo "  verifier's cache (keyed by the token's SHA-256, until exp, dropped when keys change):"
  echo
  cat "$work/jwt_bench.txt"
  echo
  echo "- Every create and update validates the assistant with Vapi's published schema (compiled"
  echo "  once at startup); per call, for the corpus's largest assistant, for each of the 41 corpus"
  echo "  assistants, and the one-time compilation:"
  echo
  cat "$work/validation_bench.txt"
  echo
  echo "- Sign-in is bound by argon2id on purpose (OWASP's 19 MiB, t=2): each verification costs"
  echo "  tens of milliseconds of one core, which is what makes guessing expensive."
  echo
  echo "## Sync throughput"
  echo
  echo "\`bench/sync_throughput.sh\`: a backlog of creates queued with syncing off, then drained by"
  echo "4 workers against vapi-sim (no faults; each job is a real POST over loopback, with the"
  echo "create intent made durable by the claim and the outcome recorded after it), three runs:"
  echo
  printf '%s' "$sync_lines"
  echo
  echo "## Listing as the table grows"
  echo
  echo "\`bench/growth.sh\`: for each size a fresh SQLite database filled straight through SQL"
  echo "(one user owning every row; 1 in 1000 failed, 1 in 500 a test assistant, three named"
  echo "\"Zebra\"), 20 more created through the API, then each list query through the API (the"
  echo "median of 15 requests, curl's total time, so about 1.5 ms is the HTTP round trip):"
  echo
  echo "$growth_table"
  echo
  echo "Targets (PRODUCT.md §4): GET by id ≥ 25% of the ceiling as a first milestone (50%"
  echo "later), p99 < 3 ms for reads and < 10 ms for durable writes at 32 connections;"
  echo "sync ≥ 1,000 jobs/s."
  if [ -n "$notes" ]; then
    echo
    echo "$notes"
  fi
} > docs/benchmarks.md
cat docs/benchmarks.md
