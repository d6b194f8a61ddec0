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
# Beside them, in the same rounds, the field's standard stack as a peer:
# Postfix on implicit TLS (465) with the node's certificate, SASL through
# Dovecot's auth service, delivery to Dovecot over LMTP into a Maildir
# (bench/submitpeer), at one message per connection with both clients
# (and with an account whose password is stored with a cheap hash: Dovecot
# verifies argon2id at every login, cache or not), and bare handshakes
# with Postfix's port; its CPU is that of every Postfix and
# Dovecot process (a cgroup of their own, else summed over /proc), taken
# once Dovecot has written every accepted message. Skipped, with a line
# saying why, when Postfix or Dovecot is missing. And the floor under
# any server: the same pipelining client against an in-process server
# that only answers (mailgate bench floor), with and without a durable
# write per message.
# Takes about six minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${BENCH_SUBMISSION_RUNS:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/mailgate-bench.XXXXXX")
pid=
shm= shmpid=
peerpid= cg=
cleanup() {
  for p in $pid $shmpid $peerpid; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
  # The peer's processes leave its cgroup as they exit.
  if [ -n "$cg" ]; then
    for _ in $(seq 150); do rmdir "$cg" 2>/dev/null && break; sleep 0.1; done
  fi
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

# The peer: Postfix + Dovecot (see bench/submitpeer), the account's
# password hashed with argon2id with the node's parameters, and a second
# account, fast@, with the same password as {SSHA256}. All their
# processes, which the two masters fork, go into a cgroup v2 of their own
# when one can be made (the masters are started inside it), so cpu.stat
# counts the ones that exited too; else their CPU is summed over /proc
# from the two masters down (a process's own run time and its reaped
# children's), which misses only what exited unreaped.
peer= peerwhy= peercpu= mailhome= peerpids=
for tool in postfix dovecot; do
  command -v "$tool" >/dev/null || { peerwhy="$tool is not installed (scripts/test-deps.sh installs it)"; break; }
done
[ -z "$peerwhy" ] && [ ! -x /usr/lib/dovecot/lmtp ] && peerwhy="Dovecot's LMTP server is not installed (dovecot-lmtpd)"
# peer_cgroup prints a new cgroup v2 directory beside this shell's own, or
# nothing when there is no writable cgroup v2.
peer_cgroup() {
  local mnt own
  mnt=$(awk '$3 == "cgroup2" {print $2; exit}' /proc/mounts)
  own=$(sed -n 's/^0:://p' /proc/self/cgroup)
  [ -n "$mnt" ] && [ -n "$own" ] || return 0
  mkdir "$mnt${own%/}/pfbench.$$" 2>/dev/null && [ -e "$mnt${own%/}/pfbench.$$/cpu.stat" ] && echo "$mnt${own%/}/pfbench.$$"
  return 0
}
if [ -z "$peerwhy" ]; then
  go build -o "$work/submitpeer" ./bench/submitpeer
  read -r pfport < <(freeports 1)
  cg=$(peer_cgroup)
  # Can this shell move a process there? (A subshell tries with itself.)
  if [ -n "$cg" ] && ! (echo "$BASHPID" >"$cg/cgroup.procs") 2>/dev/null; then
    rmdir "$cg"
    cg=
  fi
  echo "bench-password-1" | {
    [ -z "$cg" ] || echo "$BASHPID" >"$cg/cgroup.procs"
    exec "$work/submitpeer" -port "$pfport" -user load@bench.example -cheap-user fast@bench.example -cert "$work/data/selfsigned.crt" -key "$work/data/selfsigned.key"
  } >"$work/peer.out" 2>"$work/peer.err" &
  peerpid=$!
  for _ in $(seq 600); do
    grep -qx ready "$work/peer.out" 2>/dev/null && break
    kill -0 "$peerpid" 2>/dev/null || break
    sleep 0.1
  done
  if grep -qx ready "$work/peer.out"; then
    peer=1
    mailhome=$(sed -n 's/^mailhome=//p' "$work/peer.out")
    peerpids=$(sed -n 's/^pids=//p' "$work/peer.out")
    if [ -n "$cg" ]; then
      # submitpeer itself only waits for the end: back to our cgroup.
      echo "$peerpid" >"${cg%/*}/cgroup.procs"
      peercpu="all Postfix and Dovecot processes' CPU from their own cgroup v2 ($cg/cpu.stat)"
    else
      peercpu="all Postfix and Dovecot processes' CPU summed over /proc (no writable cgroup v2)"
    fi
    waitport "$pfport"
  else
    peerwhy="it did not start: $(tr '\n' ' ' <"$work/peer.err" | cut -c1-300)"
    kill "$peerpid" 2>/dev/null; wait "$peerpid" 2>/dev/null || true
    peerpid=
  fi
fi
# peer_cpu prints the CPU seconds the peer's processes used so far.
peer_cpu() {
  if [ -n "$cg" ]; then
    awk '$1 == "usage_usec" {printf "%.6f\n", $2 / 1e6}' "$cg/cpu.stat"
    return
  fi
  python3 - "$hz" $peerpids <<'PY'
import glob, os, sys
hz, roots = int(sys.argv[1]), set(int(p) for p in sys.argv[2:])
kids, cpu = {}, {}
for d in os.listdir("/proc"):
    if not d.isdigit():
        continue
    try:
        f = open(f"/proc/{d}/stat").read().rsplit(")", 1)[1].split()
        # Its threads' run time in ns (schedstat), not utime + stime:
        # those are whole clock ticks, and rounding a hundred processes
        # down lost a fifth of the total. Its reaped children's come
        # summed in cutime + cstime, rounded once.
        ran = sum(int(open(t).read().split()[0]) for t in glob.glob(f"/proc/{d}/task/*/schedstat")) / 1e9
    except (OSError, ValueError, IndexError):
        continue
    # after the name: state ppid ... utime(14) stime cutime(16) cstime
    kids.setdefault(int(f[1]), []).append(int(d))
    cpu[int(d)] = ran + (int(f[13]) + int(f[14])) / hz
seen, todo = set(), [p for p in roots if p in cpu]
while todo:
    p = todo.pop()
    if p not in seen:
        seen.add(p)
        todo += kids.get(p, [])
print(sum(cpu[p] for p in seen))
PY
}
# delivered prints how many messages Dovecot wrote into the Maildirs.
delivered() { find "$mailhome" -type f \( -path '*/Maildir/new/*' -o -path '*/Maildir/cur/*' \) | wc -l; }
# drain KEY WANT waits until the Maildir holds WANT messages (Postfix
# delivers after its 250) or nothing arrived for 60 s, and appends
# "got<TAB>want<TAB>seconds waited" to $work/drain.
drain() {
  local t0=$SECONDS last=-1 idle=$SECONDS n
  while n=$(delivered); [ "$n" -lt "$2" ]; do
    [ "$n" != "$last" ] && { last=$n idle=$SECONDS; }
    [ $((SECONDS - idle)) -ge 60 ] && break
    sleep 0.1
  done
  printf '%s\t%s\t%s\n' "$n" "$2" $((SECONDS - t0)) >>"$work/drain"
}

hz=$(getconf CLK_TCK)
server_cpu() { awk -v hz="$hz" '{print ($14+$15)/hz}' "/proc/$1/stat"; }
# measured KEY [--server PID | --peer [--drain]] -- CMD...: runs CMD
# (which prints one row), appends "row<TAB>cpu ms per op" to $work/KEY;
# with --server that node's CPU counts too, with --peer the peer's, and
# with --drain the peer's sample ends only once every message accepted is
# in its Maildir.
measured() {
  local key=$1 srv=0 node=$pid peer= drain= d0= s0 s1 u s
  shift
  case $1 in
    --server) srv=1 node=$2; shift 2 ;;
    --peer) srv=1 peer=1; shift; [ "$1" = --drain ] && { drain=1; shift; } ;;
  esac
  shift # --
  [ -n "$drain" ] && d0=$(delivered)
  if [ -n "$peer" ]; then s0=$(peer_cpu); else s0=$(server_cpu "$node"); fi
  /usr/bin/time -f '%U %S' -o "$work/time" "$@" >"$work/row"
  [ -n "$drain" ] && drain "$key" $((d0 + $(cut -f5 "$work/row")))
  if [ -n "$peer" ]; then s1=$(peer_cpu); else s1=$(server_cpu "$node"); fi
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
# submit_peer KEY USER FLAGS...: bench submit against the peer's 465 as
# USER.
submit_peer() {
  local key=$1 user=$2
  shift 2
  echo "bench-password-1" | measured "$key" --peer --drain -- "$work/mailgate" -c "$work/mailgate.toml" bench submit \
    --addr "127.0.0.1:$pfport" --implicit-tls --user "$user" --password-stdin "$@"
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
  if [ -n "$peer" ]; then
    # 200, not 1000: one argon2id per login holds these to about 20/s.
    submit_peer pf load@bench.example --clients 20 --size 10240 --per-conn 1 --messages 200 --row "Postfix + Dovecot SASL, 465, 1 msg/conn, waiting client"
    submit_peer pfpipe load@bench.example --clients 20 --size 10240 --per-conn 1 --messages 200 --pipelining --row "Postfix + Dovecot SASL, 465, 1 msg/conn, pipelining"
    submit_peer pfcheap fast@bench.example --clients 20 --size 10240 --per-conn 1 --messages 1000 --pipelining --row "the same, password stored as {SSHA256}: no argon2id at login (Dovecot's cache does not spare it)"
    measured pftls --peer -- "$work/mailgate" bench tls --addr "127.0.0.1:$pfport" --clients 20 --duration 5s --row "limit: bare TLS handshakes with Postfix's 465 (OpenSSL; its connection setup and greeting too), 20 clients, same certificate"
  fi
  measured tls -- "$work/mailgate" -c "$work/mailgate.toml" bench tls --clients 20 --duration 5s --row "limit: bare TLS handshakes, 20 clients, same certificate and settings"
  # The same client against a server that only speaks the protocol (in
  # one process, as the handshakes): how close to the handshake rate one
  # message per connection can come before any mail logic is counted.
  measured floor -- "$work/mailgate" -c "$work/mailgate.toml" bench floor --clients 20 --size 10240 --messages 2000 --row "limit: the protocol alone, pipelined on 465 (canned replies, content dropped)"
  measured floordur -- "$work/mailgate" -c "$work/mailgate.toml" bench floor --clients 20 --size 10240 --messages 1000 --durable-dir "$work/data/floor" --row "limit: the same with each message written durably before the 250"
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
if [ -n "$peer" ]; then
  echo "peer: Postfix $(postconf -d -h mail_version) + Dovecot $(dovecot --version | cut -d' ' -f1) (SQL passdb, argon2id with the node's parameters, auth cache on; LMTP into a Maildir); its CPU: $peercpu"
else
  echo "peer Postfix + Dovecot SASL skipped: $peerwhy"
fi
{
  printf 'WHAT\tPER SECOND\tMIN-MAX\tP50 MS\tP99 MS\tCOUNT\tFAILED\tCPU MS PER OP\n'
  for k in one pipe pipe465 $([ -n "$shm" ] && echo shm) $([ -n "$peer" ] && echo pf pfpipe pfcheap) resumed ten login tls floor floordur $([ -n "$peer" ] && echo pftls) fsync1 fsync20 auth; do median "$k"; done
} | column -t -s $'\t'
if [ -n "$peer" ]; then
  awk -F '\t' '$3 > w {w = $3} END {
    printf "peer: Dovecot wrote %d of the %d messages Postfix accepted into the Maildir; each CPU sample ended when the queue had drained, at most %d s after the last 250\n", $1, $2, w }' "$work/drain"
fi
# ratio TLSKEY KEY WHAT: TLSKEY's handshakes per second over KEY's rate,
# per round.
ratio() {
  paste <(cut -f2 "$work/$1") <(cut -f2 "$work/$2") | awk -v what="$3" '{r[NR]=$1/$2} END {
    n=NR; for (i=1;i<=n;i++) for (j=i+1;j<=n;j++) if (r[j]<r[i]) {t=r[i]; r[i]=r[j]; r[j]=t}
    printf "%s, per round: median %.2fx (%.2f-%.2fx)\n", what, r[int((n+1)/2)], r[1], r[n]}'
}
ratio tls one "bare TLS handshakes / submissions at 1 msg/conn, a client waiting for each reply"
ratio tls pipe "bare TLS handshakes / submissions at 1 msg/conn, pipelining"
ratio tls pipe465 "bare TLS handshakes / submissions at 1 msg/conn, pipelining on 465"
[ -n "$shm" ] && ratio tls shm "bare TLS handshakes / submissions at 1 msg/conn, pipelining on 465, data_dir on tmpfs"
ratio tls floor "bare TLS handshakes / the protocol alone at 1 msg/conn (no mail logic, no write)"
ratio tls floordur "bare TLS handshakes / the protocol alone at 1 msg/conn with a durable write"
if [ -n "$peer" ]; then
  ratio tls pf "bare TLS handshakes / Postfix submissions at 1 msg/conn, a client waiting for each reply"
  ratio tls pfpipe "bare TLS handshakes / Postfix submissions at 1 msg/conn, pipelining"
  ratio pftls pf "bare TLS handshakes with Postfix's port / Postfix submissions at 1 msg/conn, a client waiting for each reply"
  ratio pftls pfpipe "bare TLS handshakes with Postfix's port / Postfix submissions at 1 msg/conn, pipelining"
  ratio pftls pfcheap "bare TLS handshakes with Postfix's port / Postfix submissions at 1 msg/conn, pipelining, password as {SSHA256}"
fi
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
if [ -n "$peer" ]; then
  awk -v w="$(cpu pf)" -v p="$(cpu pfpipe)" -v c="$(cpu pfcheap)" -v t="$(cpu pftls)" 'BEGIN {
    printf "CPU ms per one-message connection through Postfix + Dovecot, client and server: waiting %.2f, pipelining %.2f, pipelining with {SSHA256} %.2f (argon2id at login: %.2f); a bare handshake with its port %.2f, %.2f beyond it with {SSHA256}\n", w, p, c, p - c, t, c - t }'
fi
