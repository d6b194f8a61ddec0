package e2e

import (
	"strings"
	"testing"
)

// RFC 9208 §4.3.1: an APPEND that would take the account over its quota
// is NO [OVERQUOTA]. The check is made when the APPEND command arrives,
// before its literal: several connections whose APPENDs are all announced
// before any literal is sent must not each pass it against the same
// usage. alice may hold 100 KiB; five 60,000-octet APPENDs announced at
// once, then sent: one fits, four are refused, and the Maildir holds one.
func TestQuotaConcurrentAppendsCannotPassTheQuotaTogether(t *testing.T) {
	n := NewNode(t, "", "[mailbox]\nquota = \"100KiB\"\n")
	n.AddUser(alice, alicePW)
	n.Start()
	got := imapPy(t, n, alice, alicePW, `
import socket
N, size = 5, 60000
head = b"Subject: race\r\n\r\n"
msg = head + b"x" * (size - len(head) - 2) + b"\r\n"
conns = []
for i in range(N):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(os.environ["IMAPS"]))))
    f = s.makefile("rb")
    f.readline()
    s.sendall(b'a LOGIN "%s" "%s"\r\n' % (os.environ["USER"].encode(), os.environ["PW"].encode()))
    while not f.readline().startswith(b"a "): pass
    conns.append((s, f))
for s, f in conns:
    s.sendall(b"b APPEND INBOX {%d}\r\n" % size)
    l = f.readline()
    if not l.startswith(b"+"):
        print("no continuation:", l.decode().strip())
replies = []
for s, f in conns:
    s.sendall(msg + b"\r\n")
for s, f in conns:
    while True:
        l = f.readline()
        if l.startswith(b"b "):
            replies.append(" ".join(l.decode().split(" ")[1:3]))
            break
        if not l:
            replies.append("EOF"); break
print(sorted(replies))
`)
	if !strings.Contains(got, "['NO [OVERQUOTA]', 'NO [OVERQUOTA]', 'NO [OVERQUOTA]', 'NO [OVERQUOTA]', 'OK [APPENDUID']") {
		t.Fatalf("five concurrent 60,000-octet APPENDs under a 100 KiB quota: %s\nwant one OK, four NO [OVERQUOTA]\nlog:\n%s", got, n.Log())
	}
	if _, count := maildirOctets(t, n, alice); count != 1 {
		t.Fatalf("alice holds %d messages, want 1", count)
	}
}
