#!/usr/bin/env bash
# with-postgres.sh CMD...: runs CMD with a throw-away PostgreSQL server on
# loopback and MAILGATE_TEST_POSTGRES pointing at it, then stops the server.
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
[ -x "$bin/initdb" ] || bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | tail -1)")
dir=$(mktemp -d /tmp/mailgate-pg.XXXXXX)
chown postgres: "$dir"
# A free loopback port, unless one is given: two runs (or a leftover server)
# must not collide. It is bound only after initdb, which takes seconds, so
# it comes from below the ephemeral range (see lib/ports.sh).
. "$(dirname "$0")/lib/ports.sh"
port=${MAILGATE_PG_PORT:-$(freeports 1)}
run_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
run_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
if ! run_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=300" start >/dev/null; then
  echo "with-postgres: PostgreSQL did not start on 127.0.0.1:$port; its log:" >&2
  cat "$dir/log" >&2
  rm -rf "$dir"
  exit 1
fi
trap 'run_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
export MAILGATE_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
"$@"
