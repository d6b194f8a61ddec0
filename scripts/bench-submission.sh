#!/usr/bin/env bash
# bench-submission.sh: submission throughput of a mail node on loopback
# (STARTTLS + AUTH PLAIN + 10 KiB messages, 20 concurrent clients, 1 and 10
# messages per connection, delivered into a local Maildir; one message per
# connection also with TLS sessions resumed, as returning mail clients do,
# with a client that pipelines its commands (RFC 2920) as Postfix's smtp
# client does, on 587 and on 465, and sessions that log in and quit
# without a message), next to the same
# machine's limits measured in the same run: durable writes (write 10 KiB +
# fsync + rename + dir fsync), bare TLS handshakes with the node's own
# certificate and TLS settings, and argon2id password verifications (one
# per uncached AUTH). The submissions and the handshakes run interleaved,
# BENCH_SUBMISSION_RUNS rounds (3; odd, so the median is a run): each row
# is the median round with the range, and the CPU column is what the
# server and the load generator used per message (per handshake: both
# sides), which a busy machine moves less than the rate. Then the ratio of
# bare handshakes to one-message submissions per round, for each client.
# Takes about three minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${BENCH_SUBMISSION_RUNS:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/mailgate-bench.XXXXXX")
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

hz=$(getconf CLK_TCK)
server_cpu() { awk -v hz="$hz" '{print ($14+$15)/hz}' "/proc/$pid/stat"; }
# measured KEY [--server] -- CMD...: runs CMD (which prints one row),
# appends "row<TAB>cpu ms per op" to $work/KEY; with --server the node's
# CPU counts too.
measured() {
  local key=$1 srv=0 s0 s1 u s
  shift
  [ "$1" = --server ] && { srv=1; shift; }
  shift # --
  s0=$(server_cpu)
  /usr/bin/time -f '%U %S' -o "$work/time" "$@" >"$work/row"
  s1=$(server_cpu)
  read -r u s <"$work/time"
  awk -F '\t' -v OFS='\t' -v c="$(awk -v a="$u" -v b="$s" -v x="$s0" -v y="$s1" -v k="$srv" 'BEGIN{print a+b+k*(y-x)}')" \
    '{print $0, ($5 > 0 ? sprintf("%.2f", c*1000/$5) : "-")}' "$work/row" >>"$work/$key"
}
submit() {
  local key=$1
  shift
  echo "bench-password-1" | measured "$key" --server -- "$work/mailgate" -c "$work/mailgate.toml" bench submit \
    --user load@bench.example --password-stdin "$@"
}
for _ in $(seq "$RUNS"); do
  submit one --clients 20 --size 10240 --per-conn 1 --messages 1000 --row "submit 20 clients, 10 KiB, 1 msg/conn"
  submit pipe --clients 20 --size 10240 --per-conn 1 --messages 1000 --pipelining --row "submit 20 clients, 10 KiB, 1 msg/conn, pipelining (RFC 2920, as Postfix's smtp client)"
  submit pipe465 --clients 20 --size 10240 --per-conn 1 --messages 1000 --pipelining --implicit-tls --row "submit 20 clients, 10 KiB, 1 msg/conn, pipelining, implicit TLS (465, RFC 8314)"
  submit resumed --clients 20 --size 10240 --per-conn 1 --messages 1000 --resume-tls --row "submit 20 clients, 10 KiB, 1 msg/conn, TLS resumed (a returning client)"
  submit ten --clients 20 --size 10240 --per-conn 10 --messages 3000 --row "submit 20 clients, 10 KiB, 10 msg/conn"
  submit login --clients 20 --per-conn 0 --messages 1000 --row "sessions without a message: connect, STARTTLS, EHLO, AUTH, QUIT"
  measured tls -- "$work/mailgate" -c "$work/mailgate.toml" bench tls --clients 20 --duration 5s --row "limit: bare TLS handshakes, 20 clients, same certificate and settings"
done
measured fsync1 -- "$work/mailgate" -c "$work/mailgate.toml" bench fsync --dir "$work/data" --size 10240 --writers 1 --duration 5s --row "limit: fsync 10 KiB+link+dir fsync, 1 writer"
measured fsync20 -- "$work/mailgate" -c "$work/mailgate.toml" bench fsync --dir "$work/data" --size 10240 --writers 20 --duration 5s --row "limit: fsync 10 KiB+link+dir fsync, 20 writers"
measured auth -- "$work/mailgate" -c "$work/mailgate.toml" bench auth --workers "$(nproc)" --duration 5s --row "limit: argon2id verifications, $(nproc) workers"

# median KEY: the round with the median rate, its rate's range appended.
median() {
  sort -t $'\t' -k2,2n "$work/$1" | awk -F '\t' -v OFS='\t' '{r[NR]=$0; v[NR]=$2}
    END {m=int((NR+1)/2); split(r[m], f, "\t"); print f[1], f[2], (NR>1 ? v[1] "-" v[NR] : "-"), f[3], f[4], f[5], f[6], f[7]}'
}
# The file system decides much of a message's cost: ext4 without its
# journal (some VM images) makes each new file's inode allocation skip,
# one by one, the inodes freed in the last seconds (the kernel's
# recently_deleted check), which the spool frees at the message rate.
fs=$(df -T "$work" | awk 'NR==2{print $2}')
if [ "$fs" = ext4 ]; then
  dev=$(basename "$(df --output=source "$work" | tail -1)")
  if compgen -G "/proc/fs/jbd2/$dev-*" >/dev/null; then fs="ext4 with journal"; else fs="ext4 WITHOUT journal"; fi
fi
echo
echo "mailgate submission benchmark ($(nproc) CPUs, $(uname -r), spool on $fs, $RUNS interleaved rounds; a shared machine is noisy: compare within a run)"
{
  printf 'WHAT\tPER SECOND\tMIN-MAX\tP50 MS\tP99 MS\tCOUNT\tFAILED\tCPU MS PER OP\n'
  for k in one pipe pipe465 resumed ten login tls fsync1 fsync20 auth; do median "$k"; done
} | column -t -s $'\t'
# ratio KEY WHAT: bare handshakes per second over KEY's rate, per round.
ratio() {
  paste <(cut -f2 "$work/tls") <(cut -f2 "$work/$1") | awk -v what="$2" '{r[NR]=$1/$2} END {
    n=NR; for (i=1;i<=n;i++) for (j=i+1;j<=n;j++) if (r[j]<r[i]) {t=r[i]; r[i]=r[j]; r[j]=t}
    printf "bare TLS handshakes / submissions at 1 msg/conn, %s, per round: median %.2fx (%.2f-%.2fx)\n", what, r[int((n+1)/2)], r[1], r[n]}'
}
ratio one "a client waiting for each reply"
ratio pipe "pipelining"
ratio pipe465 "pipelining on 465"
# Where a one-message connection's CPU goes (both sides, median rounds):
# each row above minus the one it contains.
cpu() { median "$1" | awk -F '\t' '{print $8}'; }
awk -v tls="$(cpu tls)" -v login="$(cpu login)" -v one="$(cpu one)" -v ten="$(cpu ten)" -v fs="$(cpu fsync20)" 'BEGIN {
  printf "CPU ms per one-message connection, client and server: TLS handshake %.2f + rest of the session (EHLO, STARTTLS, AUTH, QUIT) %.2f + the message %.2f = %.2f\n", tls, login - tls, one - login, one
  printf "  (a message on a kept connection costs %.2f, its durable write alone %.2f; within 1.5x of a bare handshake leaves %.2f for all but the handshake)\n", ten, fs, tls / 2 }'
