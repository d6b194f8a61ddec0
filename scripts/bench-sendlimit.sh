#!/usr/bin/env bash
# bench-sendlimit.sh: the daily send counter's cost per message (one
# reservation: per-account lock, window sum, insert) on SQLite and on
# PostgreSQL, next to a bare audited UPDATE on the same database (the floor
# any durable write costs there). Three interleaved runs, medians.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/mailgate-bench-sendlimit.XXXXXX)
trap 'rm -rf "$work"' EXIT
for i in 1 2 3; do
  ./scripts/with-postgres.sh go test -run '^$' -bench 'ReserveSend' -benchtime 2000x -count 1 ./internal/store/ >>"$work/bench.txt"
done
printf '%-40s %14s\n' "benchmark (median of 3)" "µs/message"
grep '^BenchmarkReserveSend' "$work/bench.txt" | sed 's/^BenchmarkReserveSend\///; s/-[0-9]* / /' |
  sort -k1,1 -k3,3n | awk '{ n[$1]++; v[$1, n[$1]] = $3 }
    END { for (k in n) printf "%-40s %14.0f\n", k, v[k, int((n[k]+1)/2)]/1000 }' | sort
