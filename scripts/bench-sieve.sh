#!/usr/bin/env bash
# bench-sieve.sh: a 200-rule Sieve script (header/address tests with
# :contains, :matches and :regex, none matching, so every rule runs), per
# message: run (what delivery does per recipient, the compiled script
# cached) and compile. Three runs, medians. Pigeonhole's sieve-test is no
# peer here: it is a command, and one process per message costs more than
# the script (about 20 ms on this kind of machine, start-up included).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/mailgate-bench-sieve.XXXXXX)
trap 'rm -rf "$work"' EXIT
go test -run '^$' -bench '200Rules' -benchmem -count 3 ./internal/sieve/ >"$work/bench.txt"
printf '%-28s %14s %12s %12s\n' "benchmark (median of 3)" "µs/message" "B/op" "allocs/op"
grep '^Benchmark' "$work/bench.txt" | sed 's/^Benchmark//; s/-[0-9]* / /' | sort -k1,1 -k3,3n |
  awk '{ n[$1]++; v[$1, n[$1]] = $3; b[$1, n[$1]] = $5; a[$1, n[$1]] = $7 }
    END { for (k in n) { m = int((n[k]+1)/2); printf "%-28s %14.1f %12s %12s\n", k, v[k, m]/1000, b[k, m], a[k, m] } }' | sort
