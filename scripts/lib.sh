# Shared by scripts/demo.sh and bench/*.sh: background processes that are always stopped, and
# waiting for a server to log the address it listens on. Source it; it sets an EXIT trap.

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# start_bg LOG CMD...: runs CMD in the background (never in a subshell, so $pids is kept),
# stderr to LOG.
start_bg() {
  local log="$1"
  shift
  "$@" >/dev/null 2>"$log" &
  pids+=($!)
}

# wait_addr LOG: prints the HOST:PORT a server logged ("address":"127.0.0.1:N"), waiting up
# to 10 s for it to start.
wait_addr() {
  for _ in $(seq 1 100); do
    if grep -qE '"address":"127\.0\.0\.1:[0-9]+"' "$1" 2>/dev/null; then
      grep -oE '"address":"127\.0\.0\.1:[0-9]+"' "$1" | head -1 | grep -oE '127\.0\.0\.1:[0-9]+'
      return 0
    fi
    sleep 0.1
  done
  echo "did not start; its log:" >&2
  cat "$1" >&2
  exit 1
}
