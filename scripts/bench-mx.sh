#!/usr/bin/env bash
# Inbound MX side by side with Postfix and smtp-sink (see bench/mx).
# BENCH_MX_MESSAGES (default 5000) and BENCH_MX_RUNS (default 3) shorten it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/test-deps.sh >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT # also when the benchmark fails
bin=$work/mailgate
go build -o "$bin" ./cmd/mailgate
go run ./bench/mx -mailgate "$bin" -messages "${BENCH_MX_MESSAGES:-5000}" -runs "${BENCH_MX_RUNS:-3}"
