#!/usr/bin/env bash
# Durable creates on PostgreSQL alone, for working on the PostgreSQL write path: a throwaway
# cluster with PostgreSQL's durable defaults and pg_stat_statements loaded, assistantd (release
# build) on it, wrk at 32 connections; then the figures, where the database's time went (the
# statements by total time) and what its backends were doing (pg_stat_activity sampled during
# the run). Knobs: DURATION (default 8s), CONNECTIONS (32), APP_FLAGS (extra serve flags, e.g.
# "--sync-workers 0"), TOP (statements shown, 12), MAX_ASSISTANTS (the per-user quota; 0: no
# quota check), PG_SETUP_SQL (SQL run once the server has migrated, for experiments).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-8s}"
CONNECTIONS="${CONNECTIONS:-32}"
TOP="${TOP:-12}"
BIN=build-release
cmake --build --preset release -j "$(nproc)" --target assistantd >/dev/null

source scripts/lib.sh
services="$(mktemp -d)"
trap './scripts/test-services.sh stop "$services"; cleanup' EXIT
PG_DURABLE=1 PG_OPTS="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all" \
  ./scripts/test-services.sh start "$services" >/dev/null
# shellcheck disable=SC1091
source "$services/env"
pg_url="${ASSISTANTD_TEST_PG_URL%/postgres}/bench"
psql -q "$ASSISTANTD_TEST_PG_URL" -c "CREATE DATABASE bench"
psql -q "$pg_url" -c "CREATE EXTENSION pg_stat_statements"
# shellcheck disable=SC2086
start_bg "$work/assistantd.log" "$BIN"/assistantd serve --listen 127.0.0.1:0 \
  --data-dir "$work/data" --database-url "$pg_url" --log-level info \
  --rate-limit-user 1000000000/1m --max-assistants-user "${MAX_ASSISTANTS:-1000000000}" ${APP_FLAGS:-}
APP="$(wait_addr "$work/assistantd.log")"
APP_PID="${pids[-1]}"
[ -z "${PG_SETUP_SQL:-}" ] || psql -q "$pg_url" -c "$PG_SETUP_SQL"
export TOKEN
TOKEN="$("$BIN"/assistantd token --data-dir "$work/data" --sub "$(cat /proc/sys/kernel/random/uuid)" --ttl 1h)"
curl -sf -o /dev/null -X POST "http://$APP/v1/assistants" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d '{"name":"warm-up"}'
psql -q "$pg_url" -c "SELECT pg_stat_statements_reset()" >/dev/null

samples="$work/activity.txt"
(
  for _ in $(seq 1 40); do
    psql -Atq "$pg_url" -c "SELECT state || ' | ' || coalesce(wait_event_type || ':' || wait_event, 'cpu') \
      || ' | ' || left(regexp_replace(query, '\s+', ' ', 'g'), 70) FROM pg_stat_activity \
      WHERE datname = 'bench' AND pid <> pg_backend_pid() AND state <> 'idle'" >>"$samples" || true
    sleep 0.15
  done
) &
sampler=$!
# cpu_ticks PID... → their user+system clock ticks; idle_ticks → the machine's idle ticks
cpu_ticks() { cat "${@/#//proc/}" 2>/dev/null | awk '{ s += $14 + $15 } END { print s + 0 }'; }
pg_pids() { pgrep -u "$(stat -c %U "$services/pg/data")" postgres | sed 's|$|/stat|'; }
idle_ticks() { awk '/^cpu / { print $5 }' /proc/stat; }
app0="$(cpu_ticks "$APP_PID/stat")"; pg0="$(cpu_ticks $(pg_pids))"; idle0="$(idle_ticks)"; t0="$(date +%s.%N)"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/create.lua "http://$APP" >"$work/wrk.txt"
app1="$(cpu_ticks "$APP_PID/stat")"; pg1="$(cpu_ticks $(pg_pids))"; idle1="$(idle_ticks)"; t1="$(date +%s.%N)"
wait "$sampler"
grep -E "Requests/sec|50%|90%|99%|Non-2xx" "$work/wrk.txt"
hz="$(getconf CLK_TCK)"
awk -v a=$((app1 - app0)) -v p=$((pg1 - pg0)) -v i=$((idle1 - idle0)) -v t0="$t0" -v t1="$t1" -v hz="$hz" \
  'BEGIN { s = (t1 - t0) * hz; printf "CPU (%% of one core): assistantd %.0f, postgres %.0f, machine idle %.0f\n", 100*a/s, 100*p/s, 100*i/s }'
echo "--- statements by total time (ms), calls, mean (ms)"
psql -Atq "$pg_url" -F ' | ' -c "SELECT round(total_exec_time::numeric, 0), calls, \
  round(mean_exec_time::numeric, 3), left(regexp_replace(query, '\s+', ' ', 'g'), 90) \
  FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT $TOP"
echo "--- backend states sampled during the run"
sort "$samples" | uniq -c | sort -rn | head -"$TOP"
