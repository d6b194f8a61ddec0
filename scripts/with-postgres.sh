#!/usr/bin/env bash
# with-postgres.sh CMD...: runs CMD with a throw-away PostgreSQL server on
# loopback and MAILGATE_TEST_POSTGRES pointing at it, then stops the server.
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
[ -x "$bin/initdb" ] || bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | tail -1)")
dir=$(mktemp -d /tmp/mailgate-pg.XXXXXX)
chown postgres: "$dir"
port=${MAILGATE_PG_PORT:-55432}
run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
run_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
run_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=300" start >/dev/null
trap 'run_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
export MAILGATE_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
"$@"
