#!/usr/bin/env bash
# bench-fleet.sh: a fleet's extra hop (see bench/fleet): inbound mail
# through a non-home node (LMTP hand-off) beside the home node, and proxied
# IMAP SELECT/FETCH beside direct, on a throw-away PostgreSQL.
# BENCH_FLEET_MESSAGES (default 2000) and BENCH_FLEET_RUNS (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/test-deps.sh >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin=$work/mailgate
go build -o "$bin" ./cmd/mailgate
./scripts/with-postgres.sh go run ./bench/fleet -mailgate "$bin" -messages "${BENCH_FLEET_MESSAGES:-2000}" -runs "${BENCH_FLEET_RUNS:-3}"
