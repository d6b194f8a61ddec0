#!/usr/bin/env bash
# bench-imap.sh: time to open a 100k-message INBOX over IMAP (SELECT) and to
# read every message's flags (FETCH 1:* (FLAGS)), for mailgate and for
# Debian's Dovecot (dovecot-imapd) serving the SAME Maildir on loopback, in
# one run. Both are measured with the same client (Python imaplib over
# IMAPS). "first" is the very first SELECT (each server builds its index
# from the directory listing); "after restart" is the first SELECT after
# restarting the server (index read back from disk); the other columns are
# over several interleaved runs with the index in place (a new connection
# each time). Times in milliseconds, measured by the client.
# MESSAGES=100000 by default; takes a few minutes (writing the files is
# most of it).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${MESSAGES:-100000}
RUNS=${RUNS:-5}
work=$(mktemp -d /tmp/mailgate-bench-imap.XXXXXX)
mgpid=
cleanup() {
  rc=$?
  if [ $rc != 0 ]; then
    for f in "$work/dovecot.log" "$work/serve.log"; do [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done
  fi
  [ -n "$mgpid" ] && kill "$mgpid" 2>/dev/null && wait "$mgpid" 2>/dev/null || true
  [ -f "$work/dovecot.conf" ] && dovecot -c "$work/dovecot.conf" stop 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
command -v dovecot >/dev/null || { echo "bench-imap: dovecot not installed (scripts/test-deps.sh installs dovecot-imapd)" >&2; exit 1; }

. scripts/lib/bench-node.sh
read -r sub mgimaps dvimaps < <(freeports 3)
user=bench@bench.example
pw=bench-password-1
mg_setup submission="$sub" imaps="$mgimaps"
mg domain add bench.example >/dev/null
echo "$pw" | mg user add "$user" --password-stdin >/dev/null
maildir="$work/data/mail/bench.example/bench"

echo "bench-imap: writing $N messages into $maildir/cur ..." >&2
python3 scripts/lib/fill-maildir.py "$maildir" "$N"

# Dovecot: minimal config in the temp dir, passwd-file auth, the same
# Maildir, its indexes and uidlist kept outside it (INDEX=, CONTROL=) so
# the two servers do not see each other's files.
mkdir -p "$work/dovecot-run" "$work/dovecot-index" "$work/dovecot-control" "$work/dovecot-auth"
# Dovecot's auth process runs as the dovecot user: it needs to reach the
# passwd file (the temp dir itself is private).
chmod 711 "$work"
chmod 755 "$work/dovecot-auth"
echo "$user:{PLAIN}$pw" > "$work/dovecot-auth/passwd"
chmod 644 "$work/dovecot-auth/passwd"
# Dovecot will not serve mail as root: its mail process runs as nobody,
# which gets the Maildir (mailgate, as root, reads it all the same).
mkdir -p "$work/dovecot-home"
chown -R nobody:nogroup "$maildir" "$work/dovecot-index" "$work/dovecot-control" "$work/dovecot-home"
chmod 711 "$work/data" "$work/data/mail" "$work/data/mail/bench.example"
cat > "$work/dovecot.conf" <<CONF
base_dir = $work/dovecot-run
state_dir = $work/dovecot-run
log_path = $work/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <$work/data/selfsigned.crt
ssl_key = <$work/data/selfsigned.key
mail_location = maildir:$maildir:INDEX=$work/dovecot-index:CONTROL=$work/dovecot-control:LAYOUT=maildir++
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = $dvimaps
    ssl = yes
  }
}
passdb {
  driver = passwd-file
  args = $work/dovecot-auth/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$work/dovecot-home
}
CONF

"$work/mailgate" -c "$work/mailgate.toml" serve >"$work/serve.log" 2>&1 & # not via mg(): $! must be the server
mgpid=$!
waitport "$mgimaps" # it has generated its self-signed certificate: Dovecot uses it too
dovecot -c "$work/dovecot.conf"
waitport "$dvimaps"

# One measurement: a fresh connection and login, then SELECT and FETCH
# timed separately. Prints "select_s fetch_s count".
measure() {
  python3 - "$1" "$user" "$pw" <<'PY'
import imaplib, ssl, sys, time
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL("127.0.0.1", int(sys.argv[1]), ssl_context=ctx)
m.login(sys.argv[2], sys.argv[3])
t0 = time.perf_counter()
typ, data = m.select("INBOX")
t1 = time.perf_counter()
typ, lines = m.fetch("1:*", "(FLAGS)")
t2 = time.perf_counter()
assert typ == "OK", typ
print("%.1f %.1f %d %d" % ((t1 - t0) * 1000, (t2 - t1) * 1000, int(data[0]), len(lines)))
m.logout()
PY
}
declare -A first sel fet
for srv in mailgate dovecot; do
  port=$mgimaps; [ $srv = dovecot ] && port=$dvimaps
  read -r s f c l < <(measure "$port")
  [ "$c" = "$N" ] && [ "$l" = "$N" ] || { echo "bench-imap: $srv SELECT saw $c messages, FETCH $l lines, want $N" >&2; exit 1; }
  first[$srv]=$s
done
for _ in $(seq "$RUNS"); do
  for srv in mailgate dovecot; do
    port=$mgimaps; [ $srv = dovecot ] && port=$dvimaps
    read -r s f c l < <(measure "$port")
    sel[$srv]+="$s "; fet[$srv]+="$f "
  done
done
# After a restart: mailgate reloads its index file (no folder cached in
# memory); Dovecot starts cold as well (its index files stay on disk).
declare -A restart
kill "$mgpid"; wait "$mgpid" 2>/dev/null || true
"$work/mailgate" -c "$work/mailgate.toml" serve >>"$work/serve.log" 2>&1 &
mgpid=$!
waitport "$mgimaps"
read -r s f c l < <(measure "$mgimaps"); restart[mailgate]=$s
dovecot -c "$work/dovecot.conf" stop
for _ in $(seq 50); do [ -e "$work/dovecot-run/master.pid" ] || break; sleep 0.1; done
dovecot -c "$work/dovecot.conf"
waitport "$dvimaps"
read -r s f c l < <(measure "$dvimaps"); restart[dovecot]=$s

# The middle value, or the mean of the two middle ones for an even RUNS.
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END{if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
minmax() { tr ' ' '\n' | grep -v '^$' | sort -n | awk 'NR==1{lo=$1} {hi=$1} END{printf "%s-%s", lo, hi}'; }
echo
echo "IMAP mailbox open, $N messages in one Maildir INBOX ($(nproc) CPUs, $(uname -r), $(df -T "$work" | awk 'NR==2{print $2}')), client: Python imaplib over TLS, $RUNS runs"
{
  printf 'SERVER\tFIRST SELECT MS\tSELECT AFTER RESTART MS\tSELECT MS MEDIAN\tSELECT MS MIN-MAX\tFETCH 1:* (FLAGS) MS MEDIAN\tFETCH MS MIN-MAX\n'
  for srv in mailgate dovecot; do
    name=$srv; [ $srv = dovecot ] && name="dovecot $(dovecot --version | cut -d' ' -f1)"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "${first[$srv]}" "${restart[$srv]}" \
      "$(echo "${sel[$srv]}" | median)" "$(echo "${sel[$srv]}" | minmax)" \
      "$(echo "${fet[$srv]}" | median)" "$(echo "${fet[$srv]}" | minmax)"
  done
} | column -t -s $'\t'
