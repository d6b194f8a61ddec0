#!/usr/bin/env bash
# Runs every Fuzz target for a few seconds (FUZZTIME, default 5s) beyond the
# seed corpus that `go test` already runs. A failure prints the fuzzer's
# output. A crash the fuzzer finds is written to the package's
# testdata/fuzz/ and fails again at once on the retry (it is in the seed
# corpus now); a failure of the fuzzing machinery itself passes on it.
# Minimizing a newly interesting input may take up to -fuzzminimizetime
# (60 s by default), and -fuzztime ending in the middle of that fails the
# run with "context deadline exceeded": so minimization is kept short.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${FUZZTIME:-5s}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# The patched libraries in third_party are modules of their own (go.mod
# replace): `go list ./...` here does not reach them, so each is listed
# from its own directory (go-smtp's DATA reader has a fuzzer).
for mod in . third_party/go-smtp third_party/go-imap; do
  for pkg in $(cd "$mod" && go list ./...); do
    dir=$(cd "$mod" && go list -f '{{.Dir}}' "$pkg")
    for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
      echo "fuzz $pkg $f ($t)"
      if ! (cd "$mod" && go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" -fuzzminimizetime 1s "$pkg") >"$out" 2>&1; then
        tail -40 "$out"
        echo "fuzz $pkg $f failed; once more"
        if ! (cd "$mod" && go test -run '^$' -fuzz "^$f\$" -fuzztime "$t" -fuzzminimizetime 1s "$pkg") >"$out" 2>&1; then
          tail -40 "$out"
          exit 1
        fi
      fi
    done
  done
done
echo "fuzz: all targets ran"
