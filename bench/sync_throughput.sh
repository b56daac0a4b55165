#!/usr/bin/env bash
# Sync throughput: jobs/s that assistantd's outbox workers complete against vapi-sim without
# faults. Queues a backlog of creates with syncing off, restarts with workers, and times the
# drain. Prints one line: "<jobs> jobs in <seconds> s = <jobs/s> jobs/s (<workers> workers)".
# Knobs: BIN (build-release), WORKERS (4), BACKLOG_SECONDS (3, wrk filling the queue).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-build-release}"
WORKERS="${WORKERS:-4}"
BACKLOG_SECONDS="${BACKLOG_SECONDS:-3}"
source scripts/lib.sh

start_bg "$work/sim.log" "$BIN"/vapi-sim --listen 127.0.0.1:0 --api-key bench
sim="$(wait_addr "$work/sim.log")"

# The backlog belongs to one user: no assistant quota or request limit for it.
serve() {  # serve WORKERS LOG
  start_bg "$2" env VAPI_API_KEY=bench "$BIN"/assistantd serve --listen 127.0.0.1:0 \
    --data-dir "$work/data" --vapi-base-url "http://$sim" --sync-workers "$1" \
    --max-assistants-user 0 --rate-limit-user 0
}

serve 0 "$work/fill.log"
app="$(wait_addr "$work/fill.log")"
export TOKEN
TOKEN="$("$BIN"/assistantd token --data-dir "$work/data" --sub "$(cat /proc/sys/kernel/random/uuid)")"
wrk -t2 -c16 -d"${BACKLOG_SECONDS}s" -s bench/create.lua "http://$app" >/dev/null
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
jobs="$(sqlite3 "$work/data/assistantd.db" "SELECT COUNT(*) FROM sync_jobs WHERE state = 'queued'")"

admin="$("$BIN"/assistantd token --data-dir "$work/data" --sub "$(cat /proc/sys/kernel/random/uuid)" --role admin)"
start="$(date +%s%N)"
serve "$WORKERS" "$work/drain.log"
app="$(wait_addr "$work/drain.log")"
while :; do
  left="$(curl -s "http://$app/v1/admin/sync" -H "Authorization: Bearer $admin" |
    sed -nE 's/.*"queued":([0-9]+).*"running":([0-9]+).*/\1 \2/p')"
  [ "$left" = "0 0" ] && break
  sleep 0.05
done
end="$(date +%s%N)"
synced="$(sqlite3 "$work/data/assistantd.db" "SELECT COUNT(*) FROM assistants WHERE sync_status = 'synced'")"
remote="$(curl -s "http://$sim/__sim/state" | grep -o '"assistantdId"' | wc -l)"
awk -v j="$jobs" -v s="$start" -v e="$end" -v w="$WORKERS" -v syn="$synced" -v r="$remote" 'BEGIN {
  secs = (e - s) / 1e9
  printf "%d jobs in %.2f s = %.0f jobs/s (%d workers; %d synced locally, %d remote copies)\n", j, secs, j / secs, w, syn, r
}'
