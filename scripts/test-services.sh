#!/usr/bin/env bash
# Throwaway servers for `make test`: a PostgreSQL cluster and a Redis server in a temporary
# directory, each on a free loopback port. Never touches a system cluster or Redis.
#
#   scripts/test-services.sh start DIR   initdb + start, redis-server; writes DIR/env (export
#                                        lines: ASSISTANTD_TEST_PG_URL, a superuser URL, and
#                                        ASSISTANTD_TEST_REDIS_URL)
#   scripts/test-services.sh stop DIR    stops what `start` started (safe to call twice)
#
# initdb refuses to run as root, so as root the cluster belongs to `nobody`.
set -euo pipefail

cmd="${1:?usage: test-services.sh start|stop DIR}"
dir="${2:?usage: test-services.sh start|stop DIR}"

pg_bin() {
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  [ -n "$bin" ] || { echo "PostgreSQL server binaries not found (apt install postgresql)" >&2; exit 1; }
  echo "$bin"
}

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u nobody -- "$@"
  else
    "$@"
  fi
}

redis_bin() {
  command -v redis-server 2>/dev/null || { echo "redis-server not found (apt install redis-server)" >&2; exit 1; }
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "$cmd" in
  start)
    bin="$(pg_bin)"
    mkdir -p "$dir/pg"
    [ "$(id -u)" -eq 0 ] && chown -R nobody "$dir"
    as_owner "$bin/initdb" -D "$dir/pg/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/pg/initdb.log" 2>&1 ||
      { cat "$dir/pg/initdb.log" >&2; exit 1; }
    port="$(free_port)"
    # Loopback only, its socket in its own directory, enough connections for parallel suites.
    # Tests skip fsync (the cluster is thrown away); PG_DURABLE=1 (benchmarks) keeps
    # PostgreSQL's durable defaults so it is compared fairly with SQLite.
    opts="-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir/pg -c max_connections=400"
    if [ "${PG_DURABLE:-0}" != 1 ]; then
      opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    # PG_OPTS: more server options (bench/pg_writes.sh loads pg_stat_statements with it).
    opts+=" ${PG_OPTS:-}"
    as_owner "$bin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w -t 60 start -o "$opts" \
      >/dev/null || { cat "$dir/pg/server.log" >&2; exit 1; }
    echo "export ASSISTANTD_TEST_PG_URL=postgres://postgres@127.0.0.1:$port/postgres" >"$dir/env"
    echo "PostgreSQL test cluster on 127.0.0.1:$port ($dir/pg)"

    # Redis: in memory only (no RDB, no AOF), loopback only, daemonised with a pid file.
    mkdir -p "$dir/redis"
    rport="$(free_port)"
    "$(redis_bin)" --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
      --daemonize yes --pidfile "$dir/redis/redis.pid" --logfile "$dir/redis/redis.log" \
      --dir "$dir/redis" || { cat "$dir/redis/redis.log" >&2 2>/dev/null; exit 1; }
    for _ in $(seq 1 100); do
      redis-cli -p "$rport" ping >/dev/null 2>&1 && break
      sleep 0.05
    done
    redis-cli -p "$rport" ping >/dev/null 2>&1 || { echo "redis-server did not start" >&2; exit 1; }
    echo "export ASSISTANTD_TEST_REDIS_URL=redis://127.0.0.1:$rport" >>"$dir/env"
    echo "Redis test server on 127.0.0.1:$rport"
    ;;
  stop)
    if [ -f "$dir/redis/redis.pid" ]; then
      kill "$(cat "$dir/redis/redis.pid")" 2>/dev/null || true
    fi
    if [ -f "$dir/pg/data/postmaster.pid" ]; then
      as_owner "$(pg_bin)/pg_ctl" -D "$dir/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: test-services.sh start|stop DIR" >&2
    exit 2
    ;;
esac
