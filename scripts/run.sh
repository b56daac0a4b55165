#!/usr/bin/env bash
# Starts assistantd on the embedded default (SQLite under ./data) and prints how to use it.
set -euo pipefail
listen="${1:-127.0.0.1:8080}"
cd "$(dirname "$0")/.."
mkdir -p data
./build/assistantd migrate --data-dir ./data >/dev/null
sub="$(cat data/demo-user 2>/dev/null || true)"
if [ -z "$sub" ]; then
  sub="$(cat /proc/sys/kernel/random/uuid)"
  echo "$sub" > data/demo-user
fi
token="$(./build/assistantd token --data-dir ./data --sub "$sub" --role user --ttl 24h)"
cat <<MSG

assistantd is starting on http://$listen (SQLite in ./data, Ctrl-C to stop).

Try it from another terminal:

  TOKEN=\$(./build/assistantd token --sub $sub --role user)
  curl -s -X POST http://$listen/v1/assistants \\
       -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
       -d '{"name":"Support bot","firstMessage":"Hello!"}'
  curl -s http://$listen/v1/assistants -H "Authorization: Bearer \$TOKEN"

A token valid for 24 hours, for user $sub:

  $token

MSG
exec ./build/assistantd serve --listen "$listen" --data-dir ./data
