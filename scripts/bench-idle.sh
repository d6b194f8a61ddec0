#!/usr/bin/env bash
# bench-idle.sh: what idle clients cost (see bench/idle): 10,000 logged-in
# IMAP clients in IDLE over TLS and 10,000 MX clients idle after EHLO,
# memory per connection of the real binary and the time a new client
# takes meanwhile, beside Dovecot with 1,000 IDLE clients (one imap
# process each, so fewer). BENCH_IDLE_CONNS and BENCH_IDLE_DOVECOT_CONNS
# change the counts; further arguments go to bench/idle (-compress: the
# IMAP clients use COMPRESS DEFLATE, Dovecot is skipped). Needs an
# open-file limit above the count (the server and the client each hold
# one descriptor per connection).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/mailgate" ./cmd/mailgate
go run ./bench/idle -mailgate "$work/mailgate" -conns "${BENCH_IDLE_CONNS:-10000}" -dovecot-conns "${BENCH_IDLE_DOVECOT_CONNS:-1000}" "$@"
