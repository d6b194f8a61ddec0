#!/usr/bin/env bash
# bench-webmail.sh: the webmail beside IMAP on the same 100k-message INBOX
# of one mailgate node, measured by the same kind of client (Python over
# TLS on loopback, a kept-alive connection, times in milliseconds as the
# client sees them):
#   list page   webmail: GET /mail/ (the 50 newest, rendered HTML)
#               IMAP: SELECT INBOX + UID FETCH of the same 50 (FLAGS
#               RFC822.SIZE INTERNALDATE and the From/Subject/Date fields)
#   sorted page webmail: GET /mail/?sort=from&asc=1 (by sender, summary cache
#               warm); IMAP has no sort here (no SORT extension)
#   open        webmail: GET /mail/msg?uid=N/2 (decoded, rendered)
#               IMAP: UID FETCH of it (BODYSTRUCTURE BODY.PEEK[1])
# "first" columns: the very first request (the folder's index built from
# the directory listing; for the sorted page, the summary cache built by
# reading every message's header once). Then RUNS interleaved runs (odd,
# default 5): medians and ranges. MESSAGES=100000 by default.
# The machine is shared and noisy: read the figures as orders of magnitude.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${MESSAGES:-100000}
RUNS=${RUNS:-5}
work=$(mktemp -d /tmp/mailgate-bench-webmail.XXXXXX)
mgpid=
cleanup() {
  rc=$?
  [ $rc != 0 ] && [ -f "$work/serve.log" ] && tail -20 "$work/serve.log" >&2
  [ -n "$mgpid" ] && kill "$mgpid" 2>/dev/null && wait "$mgpid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

. scripts/lib/bench-node.sh
read -r sub imaps https < <(freeports 3)
user=bench@bench.example
pw=bench-password-1
mg_setup submission="$sub" imaps="$imaps" https="$https"
mg domain add bench.example >/dev/null
echo "$pw" | mg user add "$user" --password-stdin >/dev/null
maildir="$work/data/mail/bench.example/bench"

echo "bench-webmail: writing $N messages into $maildir/cur ..." >&2
python3 scripts/lib/fill-maildir.py "$maildir" "$N" --senders 1000

"$work/mailgate" -c "$work/mailgate.toml" serve >"$work/serve.log" 2>&1 &
mgpid=$!
waitport "$https"
waitport "$imaps"

# One run: "web" or "imap"; prints "list sorted open" in ms (sorted is
# "-" for IMAP).
measure() {
  python3 - "$1" "$https" "$imaps" "$user" "$pw" "$N" <<'PY'
import http.client, imaplib, re, ssl, sys, time, urllib.parse
kind, https, imaps, user, pw, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], int(sys.argv[6])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
uid = n // 2 + 2  # a message already \Seen: opening it changes nothing
def ms(t0): return "%.1f" % ((time.perf_counter() - t0) * 1000)
if kind == "web":
    c = http.client.HTTPSConnection("127.0.0.1", https, context=ctx)
    jar = {}
    def req(method, path, body=None):
        h = {"Cookie": "; ".join("%s=%s" % kv for kv in jar.items()), "Accept-Language": "en"}
        if body is not None:
            h["Content-Type"] = "application/x-www-form-urlencoded"
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                name, val = v.split(";")[0].split("=", 1)
                jar[name] = val
        return r.status, data.decode("utf-8", "replace")
    st, page = req("GET", "/login")
    tok = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    st, _ = req("POST", "/login", urllib.parse.urlencode({"csrf": tok, "user": user, "password": pw, "next": "/mail/"}))
    assert st == 303, st
    out = []
    for path, want in (("/mail/", "benchmark message %d<" % (n - 1)), ("/mail/?sort=from&asc=1", "Sender 000"), ("/mail/msg?uid=%d" % uid, "line of body text for message %d" % (uid - 1))):
        t0 = time.perf_counter()
        st, page = req("GET", path)
        out.append(ms(t0))
        assert st == 200 and want in page, (path, st, page[:300])
    print(*out)
else:
    m = imaplib.IMAP4_SSL("127.0.0.1", imaps, ssl_context=ctx)
    m.login(user, pw)
    t0 = time.perf_counter()
    typ, data = m.select("INBOX")
    typ, lines = m.uid("FETCH", "%d:%d" % (n - 49, n), "(FLAGS RFC822.SIZE INTERNALDATE BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)])")
    lst = ms(t0)
    assert typ == "OK" and int(data[0]) == n and len([x for x in lines if isinstance(x, tuple)]) == 50, (typ, data, len(lines))
    t0 = time.perf_counter()
    typ, msg = m.uid("FETCH", str(uid), "(BODYSTRUCTURE BODY.PEEK[1])")
    opn = ms(t0)
    assert typ == "OK" and b"line of body text for message %d" % (uid - 1) in msg[0][1], msg
    print(lst, "-", opn)
    m.logout()
PY
}
read -r fwl fws fwo < <(measure web)
read -r fil _ fio < <(measure imap)
declare -A L S O
for _ in $(seq "$RUNS"); do
  for k in web imap; do
    read -r l s o < <(measure "$k")
    L[$k]+="$l "; S[$k]+="$s "; O[$k]+="$o "
  done
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END{if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
minmax() { tr ' ' '\n' | grep -v '^$' | sort -n | awk 'NR==1{lo=$1} {hi=$1} END{printf "%s-%s", lo, hi}'; }
echo
echo "Webmail beside IMAP, $N messages in one Maildir INBOX ($(nproc) CPUs, $(uname -r)), Python clients over TLS on loopback, first request then $RUNS interleaved runs, ms"
{
  printf 'CLIENT\tFIRST LIST\tLIST PAGE MEDIAN\tLIST MIN-MAX\tFIRST SORTED BY SENDER\tSORTED MEDIAN\tSORTED MIN-MAX\tFIRST OPEN\tOPEN MEDIAN\tOPEN MIN-MAX\n'
  printf 'webmail (GET /mail/...)\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$fwl" "$(echo "${L[web]}" | median)" "$(echo "${L[web]}" | minmax)" \
    "$fws" "$(echo "${S[web]}" | median)" "$(echo "${S[web]}" | minmax)" "$fwo" "$(echo "${O[web]}" | median)" "$(echo "${O[web]}" | minmax)"
  printf 'IMAP (SELECT + UID FETCH)\t%s\t%s\t%s\t-\t-\t-\t%s\t%s\t%s\n' "$fil" "$(echo "${L[imap]}" | median)" "$(echo "${L[imap]}" | minmax)" \
    "$fio" "$(echo "${O[imap]}" | median)" "$(echo "${O[imap]}" | minmax)"
} | column -t -s $'\t'
