package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// deepMIME is a message whose multipart/mixed parts nest depth levels deep,
// each level with its own boundary, and a multipart without any part at
// the bottom (what made go-imap's encoder panic).
func deepMIME(depth int) string {
	var b strings.Builder
	b.WriteString("From: mallory@remote.example\nTo: carol@example.org\nSubject: deep\nMIME-Version: 1.0\n")
	for i := 0; i < depth; i++ {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n", i, i)
	}
	b.WriteString("Content-Type: multipart/mixed; boundary=\"end\"\n\nno parts\n")
	for i := depth - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\n", i)
	}
	return b.String()
}

// mxPy sends one message from a remote sender to rcpt through the node's
// MX with Python's smtplib, as anyone on the Internet can.
func mxPy(t *testing.T, n *Node, rcpt, msg string) {
	t.Helper()
	runPy(t, `
import smtplib, os
s = smtplib.SMTP("127.0.0.1", int(os.environ["PORT"]))
s.sendmail("mallory@remote.example", [os.environ["RCPT"]], os.environ["MSG"])
s.quit()
`, "PORT="+fmt.Sprint(n.Ports["mx"]), "RCPT="+rcpt, "MSG="+msg)
}

// A message nested 1000 MIME levels deep, sent by anyone to the MX, must
// not stop a client from syncing its mailbox: FETCH BODYSTRUCTURE of all
// messages completes, the deep one answered down to the bound and opaque
// beyond it, and the session goes on.
func TestIMAPDeepMIMEFromMXStillSyncs(t *testing.T) {
	n := mailboxNode(t)
	// One at a time: the UIDs below follow the order of delivery, which
	// the queue does not promise for messages in flight together.
	submitPy(t, n, carol, 1, testMessage(1))
	n.WaitMaildir(carol, 1)
	mxPy(t, n, carol, deepMIME(1000))
	n.WaitMaildir(carol, 2)
	submitPy(t, n, carol, 3, testMessage(3))
	n.WaitMaildir(carol, 3)
	got := imapPy(t, n, carol, carolPW, `
m = login()
m.select("INBOX")
typ, data = m.fetch("1:*", "(UID FLAGS BODYSTRUCTURE)")
print("fetch", typ, len([x for x in data if x is not None]))
deep = d(data[1])
print("deep-start", deep.startswith("2 (UID 2 FLAGS () BODYSTRUCTURE (((("))
print("deep-levels", deep.count('"mixed"'))
print("deep-opaque", '"application" "octet-stream"' in deep)
print("last", d(data[2]).startswith('3 (UID 3 FLAGS () BODYSTRUCTURE ("text" "plain"'))
typ, data = m.fetch("2", "(BODY.PEEK[" + ".".join(["1"] * 150) + "])")
print("deep-section", typ)
print("noop", m.noop()[0])
m.logout()
`)
	want := `fetch OK 3
deep-start True
deep-levels 100
deep-opaque True
last True
deep-section OK
noop OK
`
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s\nlog:\n%s", got, want, n.Log())
	}
}

// Issue 15 §4: hostile names, searches and literals were NO [SERVERBUG]
// with nothing logged (or, for the literal, a 30 s wait); each gets the
// protocol's answer with a reason and the session goes on, as imaplib
// and a raw TLS client see it against the real binary.
func TestIMAPHostileCommandsAnsweredWithReasons(t *testing.T) {
	n := mailboxNode(t)
	submitPy(t, n, carol, 1, testMessage(1))
	got := imapPy(t, n, carol, carolPW, `
import socket
m = login()
for name in ["&AC4ALg-", "&AC8-etc", '"a\x00b"', '"a/b"', '".."']:
    typ, data = m.create(name)
    print("create", repr(name), typ, d(data[0]))
m.select("INBOX")
for what, q in [("parens", "(" * 100000 + "ALL" + ")" * 100000), ("or-tree", "OR ALL " * 3000 + "ALL"),
                ("long", "OR SUBJECT x " * 9999 + "SUBJECT y")]:
    try:
        print("search", what, m.search(None, q))
    except imaplib.IMAP4.error as e:
        print("search", what, str(e).split(": ", 1)[1])
    print("then", d(m.search(None, "SUBJECT", "msg")))
print("noop", m.noop()[0])
m.logout()

def raw():
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(os.environ["IMAPS"]))))
    s.settimeout(10)  # the server used to wait 30 s for the literal
    f = s.makefile("rb")
    f.readline()
    return s, f
s, f = raw()
s.sendall(b"L1 LOGIN {4294967296}\r\n")
print("literal", d(f.readline()).strip())
s.sendall(b"L2 NOOP\r\n")
print("after", d(f.readline()).strip())
s.sendall(b"L3 LOGIN {4294967296+}\r\n" + b"A" * 16)  # the first bytes of 4 GB
print("literal+", d(f.readline()).strip())
try:
    print("closed", f.readline() == b"")
except socket.timeout:
    print("closed False (timeout)")
`)
	want := `create '&AC4ALg-' NO [CANNOT] Mailbox name is not valid modified UTF-7 (RFC 9051 section 5.1.3) or has control characters
create '&AC8-etc' NO [CANNOT] Mailbox name is not valid modified UTF-7 (RFC 9051 section 5.1.3) or has control characters
create '"a\x00b"' NO [CANNOT] Mailbox name is not valid modified UTF-7 (RFC 9051 section 5.1.3) or has control characters
create '"a/b"' NO [CANNOT] "a/b": invalid folder name
create '".."' NO [CANNOT] ".": invalid folder name
search parens BAD [b'[CLIENTBUG] Syntax error: lists nested deeper than 1000']
then ('OK', ['1'])
search or-tree BAD [b'[LIMIT] SEARCH has more than 1000 keys (NOT and OR included); split it']
then ('OK', ['1'])
search long BAD [b'[TOOBIG] Command line too long']
then ('OK', ['1'])
noop OK
literal L1 NO [TOOBIG] Literals are limited to 4096 bytes for this command
after L2 OK NOOP completed
literal+ L3 NO [TOOBIG] Literals are limited to 4096 bytes for this command
closed True
`
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	if strings.Contains(n.Log(), "level=ERROR") {
		t.Errorf("a client's bad command was logged as a server error:\n%s", n.Log())
	}
}
