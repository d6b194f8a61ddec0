#!/usr/bin/env bash
# bench-submission.sh: submission throughput of a mail node on loopback
# (STARTTLS + AUTH PLAIN + 10 KiB messages, 20 concurrent clients, 1 and 10
# messages per connection, delivered into a local Maildir), next to the same
# machine's limits measured in the same run: durable writes (write 10 KiB +
# fsync + rename + dir fsync), bare TLS handshakes, and argon2id password
# verifications (one per AUTH). Prints one table. Takes about a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/mailgate-bench.XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

. scripts/lib/bench-node.sh
read -r sub subs < <(freeports 2)
mg_setup submission="$sub" submissions="$subs"
mg domain add bench.example >/dev/null
echo "bench-password-1" | mg user add load@bench.example --password-stdin >/dev/null
# Started directly, not through mg(): $! must be the server, not a subshell.
"$work/mailgate" -c "$work/mailgate.toml" serve >"$work/serve.log" 2>&1 &
pid=$!
waitport "$sub"

submit() { echo "bench-password-1" | mg bench submit --user load@bench.example --password-stdin "$@"; }
rows=$(
  submit --clients 20 --size 10240 --per-conn 1 --messages 300 --row "submit 20 clients, 10 KiB, 1 msg/conn"
  submit --clients 20 --size 10240 --per-conn 10 --messages 1500 --row "submit 20 clients, 10 KiB, 10 msg/conn"
  mg bench fsync --dir "$work/data" --size 10240 --writers 1 --duration 5s --row "limit: fsync 10 KiB+link+dir fsync, 1 writer"
  mg bench fsync --dir "$work/data" --size 10240 --writers 20 --duration 5s --row "limit: fsync 10 KiB+link+dir fsync, 20 writers"
  mg bench tls --clients 20 --duration 5s --row "limit: bare TLS handshakes, 20 clients"
  mg bench auth --workers "$(nproc)" --duration 5s --row "limit: argon2id verifications, $(nproc) workers"
)
echo
echo "mailgate submission benchmark ($(nproc) CPUs, $(uname -r), spool on $(df -T "$work" | awk 'NR==2{print $2}'))"
{
  printf 'WHAT\tPER SECOND\tP50 MS\tP99 MS\tCOUNT\tFAILED\n'
  printf '%s\n' "$rows"
} | column -t -s $'\t'
