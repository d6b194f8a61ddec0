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
shm= shmpid=
cleanup() {
  for p in $pid $shmpid; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  rm -rf "$work" ${shm:+"$shm"}
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

# A second node with its data directory on tmpfs, when /dev/shm is one:
# the same submissions without a durable write (fsync is a no-op there),
# which tells the storage's share from the protocol's and the TLS's. Not a
# way to run: nothing on tmpfs survives a crash.
if [ "$(df --output=fstype /dev/shm 2>/dev/null | tail -1)" = tmpfs ]; then
  shm=$(mktemp -d /dev/shm/mailgate-bench.XXXXXX)
  read -r shmsub shmsubs < <(freeports 2)
  sed -e "s|$work/data|$shm/data|" -e "s|:$sub\"|:$shmsub\"|" -e "s|:$subs\"|:$shmsubs\"|" "$work/mailgate.toml" >"$work/shm.toml"
  "$work/mailgate" -c "$work/shm.toml" domain add bench.example >/dev/null
  echo "bench-password-1" | "$work/mailgate" -c "$work/shm.toml" user add load@bench.example --password-stdin >/dev/null
  "$work/mailgate" -c "$work/shm.toml" serve >"$work/shm.log" 2>&1 &
  shmpid=$!
  waitport "$shmsub"
fi

hz=$(getconf CLK_TCK)
server_cpu() { awk -v hz="$hz" '{print ($14+$15)/hz}' "/proc/$1/stat"; }
# measured KEY [--server PID] -- CMD...: runs CMD (which prints one row),
# appends "row<TAB>cpu ms per op" to $work/KEY; with --server that node's
# CPU counts too.
measured() {
  local key=$1 srv=0 node=$pid s0 s1 u s
  shift
  [ "$1" = --server ] && { srv=1; node=$2; shift 2; }
  shift # --
  s0=$(server_cpu "$node")
  /usr/bin/time -f '%U %S' -o "$work/time" "$@" >"$work/row"
  s1=$(server_cpu "$node")
  read -r u s <"$work/time"
  awk -F '\t' -v OFS='\t' -v c="$(awk -v a="$u" -v b="$s" -v x="$s0" -v y="$s1" -v k="$srv" 'BEGIN{print a+b+k*(y-x)}')" \
    '{print $0, ($5 > 0 ? sprintf("%.2f", c*1000/$5) : "-")}' "$work/row" >>"$work/$key"
}
# submit KEY [--tmpfs] FLAGS...: bench submit against the node (the tmpfs
# one with --tmpfs).
submit() {
  local key=$1 conf=$work/mailgate.toml node=$pid
  shift
  [ "$1" = --tmpfs ] && { conf=$work/shm.toml node=$shmpid; shift; }
  echo "bench-password-1" | measured "$key" --server "$node" -- "$work/mailgate" -c "$conf" bench submit \
    --user load@bench.example --password-stdin "$@"
}
for _ in $(seq "$RUNS"); do
  submit one --clients 20 --size 10240 --per-conn 1 --messages 1000 --row "submit 20 clients, 10 KiB, 1 msg/conn"
  submit pipe --clients 20 --size 10240 --per-conn 1 --messages 1000 --pipelining --row "submit 20 clients, 10 KiB, 1 msg/conn, pipelining (RFC 2920, as Postfix's smtp client)"
  submit pipe465 --clients 20 --size 10240 --per-conn 1 --messages 1000 --pipelining --implicit-tls --row "submit 20 clients, 10 KiB, 1 msg/conn, pipelining, implicit TLS (465, RFC 8314)"
  submit resumed --clients 20 --size 10240 --per-conn 1 --messages 1000 --resume-tls --row "submit 20 clients, 10 KiB, 1 msg/conn, TLS resumed (a returning client)"
  submit ten --clients 20 --size 10240 --per-conn 10 --messages 3000 --row "submit 20 clients, 10 KiB, 10 msg/conn"
  submit login --clients 20 --per-conn 0 --messages 1000 --row "sessions without a message: connect, STARTTLS, EHLO, AUTH, QUIT"
  if [ -n "$shm" ]; then
    submit shm --tmpfs --clients 20 --size 10240 --per-conn 1 --messages 1000 --pipelining --implicit-tls --row "the same, data_dir on tmpfs: no durable write (a floor, not a way to run)"
  fi
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
  for k in one pipe pipe465 $([ -n "$shm" ] && echo shm) resumed ten login tls fsync1 fsync20 auth; do median "$k"; done
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
[ -n "$shm" ] && ratio shm "pipelining on 465, data_dir on tmpfs"
# Where a one-message connection's CPU goes (both sides, median rounds):
# each row above minus the one it contains.
cpu() { median "$1" | awk -F '\t' '{print $8}'; }
awk -v tls="$(cpu tls)" -v login="$(cpu login)" -v one="$(cpu one)" -v ten="$(cpu ten)" -v fs="$(cpu fsync20)" 'BEGIN {
  printf "CPU ms per one-message connection, client and server: TLS handshake %.2f + rest of the session (EHLO, STARTTLS, AUTH, QUIT) %.2f + the message %.2f = %.2f\n", tls, login - tls, one - login, one
  printf "  (a message on a kept connection costs %.2f, its durable write alone %.2f; within 1.5x of a bare handshake leaves %.2f for all but the handshake)\n", ten, fs, tls / 2 }'
awk -v tls="$(cpu tls)" -v p="$(cpu pipe465)" -v m="$([ -n "$shm" ] && cpu shm)" 'BEGIN {
  printf "CPU ms per one-message connection pipelined on 465: %.2f, %.2f beyond the handshake", p, p - tls
  if (m != "") printf "; on tmpfs %.2f, %.2f beyond it", m, m - tls
  printf "\n" }'
