#!/usr/bin/env bash
# The offline demo: vapi-sim stands in for Vapi, assistantd syncs to it. No internet, no Vapi
# account. Shows an assistant going from pending to synced, then stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

start_bg "$work/sim.log" ./build/vapi-sim --listen 127.0.0.1:0 --api-key demo-key --latency-ms 300
sim="$(wait_addr "$work/sim.log")"
start_bg "$work/assistantd.log" env VAPI_API_KEY=demo-key ./build/assistantd serve \
  --listen 127.0.0.1:0 --data-dir "$work/data" --vapi-base-url "http://$sim"
app="$(wait_addr "$work/assistantd.log")"
echo "vapi-sim on http://$sim (300 ms latency), assistantd on http://$app"

token="$(./build/assistantd token --data-dir "$work/data" --sub "$(cat /proc/sys/kernel/random/uuid)")"
created="$(curl -s -X POST "http://$app/v1/assistants" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' \
  -d '{"name":"Demo bot","firstMessage":"Hello!","endCallAfterSilence":true}')"
id="$(echo "$created" | sed -nE 's/.*"id":"([0-9a-f-]{36})".*/\1/p')"
echo
echo "created $id: syncStatus $(echo "$created" | sed -nE 's/.*"syncStatus":"([a-z]+)".*/\1/p')"
for _ in $(seq 1 50); do
  status="$(curl -s "http://$app/v1/assistants/$id/sync" -H "Authorization: Bearer $token")"
  echo "$status" | grep -q '"syncStatus":"synced"' && break
  sleep 0.2
done
echo "now:      $(echo "$status" | sed -nE 's/.*("syncStatus":"[a-z]+").*("vapiId":"[0-9a-f-]+").*/\1 \2/p')"
echo
echo "what vapi-sim holds (note: no endCallAfterSilence, our id in metadata):"
curl -s "http://$sim/__sim/state"
echo

echo
echo "an update that waits for its own sync outcome (Prefer: wait=5):"
curl -s -X PATCH "http://$app/v1/assistants/$id" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' -H 'Prefer: wait=5' -d '{"name":"Demo bot v2"}' |
  sed -nE 's/.*("name":"[^"]*").*("syncStatus":"[a-z]+").*/  \1 \2/p'
echo

echo
vapi_id="$(echo "$status" | sed -nE 's/.*"vapiId":"([0-9a-f-]+)".*/\1/p')"
echo "someone deletes $vapi_id in Vapi's dashboard; reconciliation notices and re-creates it:"
curl -s -o /dev/null -X DELETE "http://$sim/assistant/$vapi_id" -H "Authorization: Bearer demo-key"
admin="$(./build/assistantd token --data-dir "$work/data" --sub "$(cat /proc/sys/kernel/random/uuid)" --role admin)"
curl -s -X POST "http://$app/v1/admin/reconcile" -H "Authorization: Bearer $admin" |
  sed -nE 's/.*"missing":(\{[^}]*\}).*/  missing: \1/p'
echo
for _ in $(seq 1 50); do
  status="$(curl -s "http://$app/v1/assistants/$id/sync" -H "Authorization: Bearer $token")"
  echo "$status" | grep -q '"syncStatus":"synced"' && ! echo "$status" | grep -q "$vapi_id" && break
  sleep 0.2
done
echo "  now: $(echo "$status" | sed -nE 's/.*("syncStatus":"[a-z]+").*("vapiId":"[0-9a-f-]+").*/\1 \2/p')"
