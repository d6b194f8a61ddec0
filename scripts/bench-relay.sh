#!/usr/bin/env bash
# Outbound relay side by side with Postfix: submission → queue → remote
# smtp-sink (MX found through a DNS server the benchmark runs) against
# smtp-source → Postfix, and the same submission load → Postfix (STARTTLS,
# Cyrus SASL) → the same smtp-sink (see bench/relay).
# BENCH_RELAY_MESSAGES (default 2000) and BENCH_RELAY_RUNS (default 3; an
# odd count, so the median is one run) shorten it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/test-deps.sh >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT # also when the benchmark fails
bin=$work/mailgate
go build -o "$bin" ./cmd/mailgate
go run ./bench/relay -mailgate "$bin" -messages "${BENCH_RELAY_MESSAGES:-2000}" -runs "${BENCH_RELAY_RUNS:-3}"
