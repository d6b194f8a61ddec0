package e2e

import (
	"os"
	"strings"
	"testing"
)

// compressPy is Python to prepend to a script that talks IMAP with
// imaplib: deflate(m) sends COMPRESS DEFLATE (RFC 4978) and from its OK on
// sends and reads raw DEFLATE (zlib wbits=-15, RFC 1951 without a header)
// under imaplib, keeping every response line it read in z.lines (in clear,
// as decompressed) and the compressed byte counts; record(m) keeps the
// lines of an uncompressed session alike. Reads time out after 30 s: a
// response the server left in its compressor fails the test, it does not
// hang it.
const compressPy = `
import zlib
class Wire:
    def __init__(s, m):
        s.m, s.lines, s.raw_in, s.plain_in = m, [], 0, 0
        m.sock.settimeout(30)
        s.rl, s.rd = m.readline, m.read
        m.readline, m.read = s.readline, s.read
    def readline(s):
        l = s.rl(); s.lines.append(l); return l
    def read(s, n):
        b = s.rd(n); s.lines.append(b); return b
    def take(s):
        out, s.lines = b"".join(s.lines).decode(), []
        return out
class Deflate(Wire):
    def __init__(s, m):
        s.c, s.dz, s.buf = zlib.compressobj(6, zlib.DEFLATED, -15), zlib.decompressobj(wbits=-15), b""
        super().__init__(m)
        s.rl, s.rd = s._readline, s._read
        m.send = s.send
    def send(s, data):
        s.m.sock.sendall(s.c.compress(data) + s.c.flush(zlib.Z_SYNC_FLUSH))
    def fill(s):
        chunk = s.m.sock.recv(65536)
        if not chunk: raise EOFError("connection closed")
        s.raw_in += len(chunk)
        s.buf += s.dz.decompress(chunk)
    def _readline(s):
        while b"\n" not in s.buf: s.fill()
        i = s.buf.index(b"\n") + 1
        l, s.buf = s.buf[:i], s.buf[i:]
        s.plain_in += len(l)
        return l
    def _read(s, n):
        while len(s.buf) < n: s.fill()
        b, s.buf = s.buf[:n], s.buf[n:]
        s.plain_in += len(b)
        return b
imaplib.Commands["COMPRESS"] = ("AUTH", "SELECTED")
def deflate(m):
    typ, dat = m._simple_command("COMPRESS", "DEFLATE")
    print("compress", typ, d(dat))
    return Deflate(m)
`

// The session after COMPRESS is the session without it: the same bytes
// come out of the inflater that an uncompressed session reads, for SELECT
// and FETCH of a whole message (a literal); APPEND sends its literal
// compressed after the continuation; a second COMPRESS is
// NO [COMPRESSIONACTIVE]. Tags are shown as T, UIDVALIDITY as V.
const compressSessionPy = `
import re
msg = ("From: Carol <carol@example.com>\r\nTo: dave@example.com\r\nSubject: compress me\r\n"
       "Date: Mon, 2 Mar 2026 10:00:00 +0000\r\n\r\n" + "All work and no play makes Jack a dull boy.\r\n" * 200).encode()
def norm(m, out):
    out = re.sub(r"(UIDVALIDITY|APPENDUID) \d+", r"\1 V", out)
    return re.sub(re.escape(d(m.tagpre)) + r"\d+ ", "T ", out)
def session(m, w):
    for cmd in (lambda: m.select("INBOX"),
                lambda: m.fetch("1", "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])"),
                lambda: m.fetch("1", "(BODY.PEEK[])")):
        w.take(); cmd()
        yield norm(m, w.take())
m = login()
print("caps", "COMPRESS=DEFLATE" in d(m.capability()[1][0]).split())
m.append("INBOX", None, '"02-Mar-2026 10:00:00 +0000"', msg)
plain = list(session(m, Wire(m)))
m.logout()
m = login()
z = deflate(m)
for p, s in zip(plain, session(m, z)):
    print("same" if p == s else "differs:\n%s\n%s" % (p, s), s.splitlines()[0] if len(s) > 400 else s.replace("\r\n", "|"))
print("ratio below a fifth", z.raw_in * 5 < z.plain_in)
z.take(); m.append("INBOX", None, '"03-Mar-2026 10:00:00 +0000"', msg.replace(b"compress me", b"sent compressed"))
print("append", norm(m, z.take()).replace("\r\n", "|"))
typ, dat = m.fetch("2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
print("fetch 2", d(dat[0][1]).strip())
typ, dat = m._simple_command("COMPRESS", "DEFLATE")
print("again", typ, d(dat))
typ, dat = m.noop()
print("noop after", typ, d(dat))
m.logout()
print("logout", norm(m, z.take()).replace("\r\n", "|"))
`

// TestIMAPCompressDeflate: imaplib against the real binary with
// [imap] compress on; see compressSessionPy.
func TestIMAPCompressDeflate(t *testing.T) {
	n := NewNode(t, "", "[imap]\ncompress = true\n")
	n.AddUser(carol, carolPW)
	n.Start()
	got := imapPy(t, n, carol, carolPW, compressPy+compressSessionPy)
	want := `caps True
compress OK ['DEFLATE active']
same * 1 EXISTS|* 0 RECENT|* OK [UNSEEN 1] First unseen message|* OK [UIDVALIDITY V] UIDs valid|* OK [UIDNEXT 2] Predicted next UID|* FLAGS (\Answered \Flagged \Deleted \Seen \Draft)|* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft)] Permanent flags|T OK [READ-WRITE] SELECT completed|
same * 1 FETCH (UID 1 FLAGS () INTERNALDATE " 2-Mar-2026 10:00:00 +0000" RFC822.SIZE 9117 BODY[HEADER.FIELDS ("SUBJECT")] {24}|Subject: compress me||)|T OK FETCH completed|
same * 1 FETCH (BODY[] {9117}
ratio below a fifth True
append + Ready for literal data|* 2 EXISTS|T OK [APPENDUID V 2] APPEND completed|
fetch 2 Subject: sent compressed
again NO ['[COMPRESSIONACTIVE] DEFLATE is active already (COMPRESS)']
noop after OK ['NOOP completed']
logout * 2 FETCH (BODY[HEADER.FIELDS ("SUBJECT")] {28}|Subject: sent compressed||)|T OK FETCH completed|T NO [COMPRESSIONACTIVE] DEFLATE is active already (COMPRESS)|T OK NOOP completed|* BYE Logging out|
`
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestIMAPCompressOff: without [imap] compress, COMPRESS is neither
// advertised nor accepted, and the session goes on in clear.
func TestIMAPCompressOff(t *testing.T) {
	n := mailboxNode(t)
	got := imapPy(t, n, carol, carolPW, compressPy+`
m = login()
print("caps", "COMPRESS=DEFLATE" in d(m.capability()[1][0]).split())
try:
    m._simple_command("COMPRESS", "DEFLATE")
except imaplib.IMAP4.error as e:
    print("refused", e)
print(d(m.noop()))
m.logout()
`)
	if want := "caps False\nrefused COMPRESS command error: BAD [b'COMPRESS not supported']\n('OK', ['NOOP completed'])\n"; got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

// TestFleetIMAPCompressEndToEnd: in a fleet the front node relays a
// session to the account's home node right after login, and COMPRESS is
// valid only after login (RFC 4978 §5), so compression runs end to end
// between the client and the home node; the front node relays compressed
// bytes it never inflates. The home node's [imap] compress decides: bob
// (home node-b, compress on) gets COMPRESS=DEFLATE and a compressed
// session through node-a (compress off), alice (home node-a) does not.
func TestFleetIMAPCompressEndToEnd(t *testing.T) {
	NeedTool(t, "python3")
	nodes := newFleet(t, 2, fleetRetry)
	a, b := nodes[0], nodes[1]
	f, err := os.OpenFile(b.Config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("[imap]\ncompress = true\n")
	f.Close()
	for _, n := range nodes {
		n.Start()
	}
	a.MustCLI("", "domain", "add", "example.net")
	a.MustCLI(alicePW+"\n", "user", "add", alice, "--password-stdin", "--home", "node-a")
	a.MustCLI(bobPW+"\n", "user", "add", bob, "--password-stdin", "--home", "node-b")

	got := imapPy(t, a.Node, bob, bobPW, compressPy+`
m = login()
print("caps", "COMPRESS=DEFLATE" in d(m.capability()[1][0]).split())
z = deflate(m)
print(d(m.append("INBOX", None, '"02-Mar-2026 10:00:00 +0000"', b"Subject: via node-a\r\n\r\n" + b"fleet " * 2000)))
print(d(m.select("INBOX")))
typ, dat = m.fetch("1", "(BODY.PEEK[])")
print("body", len(dat[0][1]), dat[0][1].count(b"fleet "))
print("compressed", z.raw_in * 5 < z.plain_in)
typ, dat = m._simple_command("COMPRESS", "DEFLATE")
print("again", typ, d(dat))
m.logout()
`)
	want := `caps True
compress OK ['DEFLATE active']
('OK', ['[APPENDUID ` // the rest checked below
	if !strings.HasPrefix(got, want) || !strings.Contains(got, "\n('OK', ['1'])\nbody 12023 2000\ncompressed True\nagain NO ['[COMPRESSIONACTIVE] DEFLATE is active already (COMPRESS)']\n") {
		t.Fatalf("bob through node-a:\n%s\nnode-a log:\n%s\nnode-b log:\n%s", got, a.Log(), b.Log())
	}
	if !strings.Contains(a.Log(), `msg="imap proxy" account=bob@example.net node=node-b`) {
		t.Fatalf("node-a did not proxy bob's session:\n%s", a.Log())
	}
	if len(b.Maildir(bob)) != 1 {
		t.Fatalf("bob's Maildir on node-b: %v", b.Maildir(bob))
	}
	got = imapPy(t, a.Node, alice, alicePW, `
m = login()
print("caps", "COMPRESS=DEFLATE" in d(m.capability()[1][0]).split())
m.logout()
`)
	if got != "caps False\n" {
		t.Fatalf("alice on node-a (compress off): %q", got)
	}
}
