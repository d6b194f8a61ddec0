#!/usr/bin/env bash
# bench.sh: runs every scripts/bench-*.sh in turn (`make bench`); each
# prints its own table.
set -euo pipefail
cd "$(dirname "$0")"
status=0
for b in bench-*.sh; do
  [ -e "$b" ] || continue
  echo "== $b"
  ./"$b" || { echo "$b failed" >&2; status=1; }
  echo
done
exit $status
