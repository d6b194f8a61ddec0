#!/usr/bin/env bash
# Inbound MX side by side with Postfix and smtp-sink (see bench/mx).
# BENCH_MX_MESSAGES (default 5000) and BENCH_MX_RUNS (default 3) shorten it;
# BENCH_TMPDIR moves the runs' data (see below).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/test-deps.sh >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT # also when the benchmark fails
bin=$work/mailgate
go build -o "$bin" ./cmd/mailgate
go build -o "$work/bench-mx" ./bench/mx
# BENCH_TMPDIR puts every run's data (Postfix's and mailgate's alike)
# elsewhere than the temp directory: on a machine whose /tmp is busy with
# other builds (ext4 without a journal skips inodes freed in the last
# 60 s to 6 min, scanning past each at every file creation) that cost
# swamps the MTAs'. The same directory serves every target.
TMPDIR="${BENCH_TMPDIR:-${TMPDIR:-/tmp}}" "$work/bench-mx" -mailgate "$bin" -messages "${BENCH_MX_MESSAGES:-5000}" -runs "${BENCH_MX_RUNS:-3}"
