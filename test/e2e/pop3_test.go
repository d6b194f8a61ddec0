package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

const (
	carol   = "carol@example.org"
	carolPW = "carol-pw-7731"
	dave    = "dave@example.org"
	davePW  = "dave-pw-0042"
)

// mailboxNode starts a node with carol and dave in example.org (Start
// waits for every listener, POP3 and IMAP included).
func mailboxNode(t *testing.T) *Node {
	t.Helper()
	n := NewNode(t, "", "")
	n.AddUser(carol, carolPW)
	n.AddUser(dave, davePW)
	n.Start()
	return n
}

// runPy runs a Python 3 script with env (KEY=VALUE) and returns stdout;
// a failing script fails the test.
func runPy(t *testing.T, script string, env ...string) string {
	t.Helper()
	NeedTool(t, "python3")
	cmd := exec.Command("python3", "-c", script)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	return string(out)
}

// submitPy sends messages from dave to rcpt through the node's submission
// port with Python's smtplib (STARTTLS, AUTH) and waits until rcpt's
// Maildir holds want messages. Each body is sent as given (LF line ends,
// smtplib turns them into CRLF).
func submitPy(t *testing.T, n *Node, rcpt string, want int, bodies ...string) {
	t.Helper()
	var msgs []string
	for _, b := range bodies {
		msgs = append(msgs, fmt.Sprintf("%q", b))
	}
	script := `
import smtplib, ssl, os
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP("127.0.0.1", int(os.environ["PORT"]))
s.starttls(context=ctx)
s.login(os.environ["USER"], os.environ["PW"])
for m in [` + strings.Join(msgs, ",") + `]:
    s.sendmail(os.environ["USER"], [os.environ["RCPT"]], m)
s.quit()
`
	runPy(t, script, "PORT="+fmt.Sprint(n.Ports["submission"]), "USER="+dave, "PW="+davePW, "RCPT="+rcpt)
	n.WaitMaildir(rcpt, want)
}

// testMessage is a message with a dot-leading line, to check stuffing.
func testMessage(i int) string {
	return fmt.Sprintf("From: dave@example.org\nTo: carol@example.org\nSubject: msg %d\n\nline one of %d\n.dot line\n..two dots\nend\n", i, i)
}

// testMessages is testMessage 1 to n.
func testMessages(n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, testMessage(i))
	}
	return out
}

func TestPOP3PoplibSTLSCommandsAndStableUIDL(t *testing.T) {
	n := mailboxNode(t)
	submitPy(t, n, carol, 3, testMessages(3)...)
	script := `
import poplib, ssl, os
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3("127.0.0.1", int(os.environ["PORT"]))
print("greeting", p.getwelcome().decode().split()[0])
print("capa-plain", sorted(p.capa().keys()))
for cmd in (lambda: p.user(os.environ["USER"]), lambda: p._shortcmd("AUTH PLAIN")):
    try:
        cmd(); print("accepted!")
    except poplib.error_proto as e:
        print("refused", e.args[0].decode())
p.stls(ctx)
print("capa-tls", sorted(p.capa().keys()))
try:
    p.user(os.environ["USER"]); p.pass_("wrong")
except poplib.error_proto as e:
    print("badpw", e.args[0].decode())
p.user(os.environ["USER"]); print("pass", p.pass_(os.environ["PW"]).decode())
print("stat", p.stat())
resp, lst, _ = p.list(); print("list", [l.decode() for l in lst])
resp, uidl, _ = p.uidl(); print("uidl", " ".join(l.decode() for l in uidl))
resp, lines, octets = p.retr(2)
print("retr", resp.decode(), octets)
open(os.environ["OUT"], "wb").write(b"\r\n".join(lines) + b"\r\n")
resp, lines, _ = p.top(1, 1); print("top", [l.decode() for l in lines][-3:])
print("dele", p.dele(1).decode())
try:
    p.retr(1)
except poplib.error_proto as e:
    print("retr-deleted", e.args[0].decode())
print("rset", p.rset().decode(), p.stat())
print("dele", p.dele(3).decode())
print("noop", p.noop().decode())
print("quit", p.quit().decode())
`
	out := filepath.Join(t.TempDir(), "retr")
	env := []string{"PORT=" + fmt.Sprint(n.Ports["pop3"]), "USER=" + carol, "PW=" + carolPW, "OUT=" + out}
	files := n.Maildir(carol) // all in new/, in delivery order
	sort.Strings(files)
	stored2 := readFile(t, files[1])
	var sizes []int64
	var total int64
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, fi.Size())
		total += fi.Size()
	}
	got := runPy(t, script, env...)
	lines := strings.Split(strings.TrimSpace(got), "\n")
	wantPrefix := []string{
		"greeting +OK",
		"capa-plain ['AUTH-RESP-CODE', 'IMPLEMENTATION', 'PIPELINING', 'RESP-CODES', 'STLS', 'TOP', 'UIDL']",
		"refused -ERR [AUTH] plaintext login is not allowed without TLS; use STLS or port 995",
		"refused -ERR [AUTH] plaintext login is not allowed without TLS; use STLS or port 995",
		"capa-tls ['AUTH-RESP-CODE', 'IMPLEMENTATION', 'PIPELINING', 'RESP-CODES', 'SASL', 'TOP', 'UIDL', 'USER']",
		"badpw -ERR [AUTH] authentication failed",
		"pass +OK maildrop locked and ready",
	}
	for i, w := range wantPrefix {
		if i >= len(lines) || lines[i] != w {
			t.Fatalf("line %d: got\n%s\nwant %q", i, got, w)
		}
	}
	// Sizes are the files' sizes (CRLF stored): RFC 1939 §5 exact octets.
	want := []string{
		fmt.Sprintf("stat (3, %d)", total),
		fmt.Sprintf("list ['1 %d', '2 %d', '3 %d']", sizes[0], sizes[1], sizes[2]),
	}
	for i, w := range want {
		if lines[7+i] != w {
			t.Fatalf("got %q want %q\n%s", lines[7+i], w, got)
		}
	}
	uidl := lines[9]
	if !strings.HasPrefix(uidl, "uidl 1 ") || len(strings.Fields(uidl)) != 7 {
		t.Fatalf("uidl line %q", uidl)
	}
	if lines[10] != fmt.Sprintf("retr +OK %d octets %d", sizes[1], sizes[1]+2+2) && !strings.HasPrefix(lines[10], fmt.Sprintf("retr +OK %d octets ", sizes[1])) {
		t.Fatalf("retr line %q", lines[10])
	}
	// poplib un-stuffs dots: what it got is the stored message exactly.
	if got := readFile(t, out); got != stored2 {
		t.Fatalf("RETR content:\n%q\nstored:\n%q", got, stored2)
	}
	rest := strings.Join(lines[11:], "\n")
	wantRest := `top ['Subject: msg 1', '', 'line one of 1']
dele +OK message 1 deleted
retr-deleted -ERR message 1 already deleted
rset +OK (3, ` + fmt.Sprint(total) + `)
dele +OK message 3 deleted
noop +OK
quit +OK mail.test.example POP3 signing off (2 messages left)`
	if rest != wantRest {
		t.Fatalf("got:\n%s\nwant:\n%s", rest, wantRest)
	}
	// Message 3 is gone from disk; 1 and 2 stay.
	left := n.Maildir(carol)
	sort.Strings(left)
	if len(left) != 2 || !strings.HasPrefix(filepath.Base(left[0]), filepath.Base(files[0])+":2,") || !strings.HasPrefix(filepath.Base(left[1]), filepath.Base(files[1])+":2,") {
		t.Fatalf("after QUIT: %v (before %v)", left, files)
	}

	// UIDLs survive a restart and keep their values for the survivors.
	uidlAgain := func() string {
		return strings.TrimSpace(runPy(t, `
import poplib, ssl, os
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3_SSL("127.0.0.1", int(os.environ["PORT"]), context=ctx)
p.user(os.environ["USER"]); p.pass_(os.environ["PW"])
print(" ".join(l.decode() for l in p.uidl()[1])); p.quit()
`, "PORT="+fmt.Sprint(n.Ports["pop3s"]), "USER="+carol, "PW="+carolPW))
	}
	f := strings.Fields(uidl)
	wantUIDL := fmt.Sprintf("1 %s 2 %s", f[2], f[4])
	if u := uidlAgain(); u != wantUIDL {
		t.Fatalf("UIDL after QUIT: %q want %q", u, wantUIDL)
	}
	n.Stop()
	n.Start()
	if u := uidlAgain(); u != wantUIDL {
		t.Fatalf("UIDL after restart: %q want %q", u, wantUIDL)
	}
}

// pop3Conn is a raw POP3 client for the cases a library hides.
type pop3Conn struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialPOP3S(t *testing.T, addr string) *pop3Conn {
	t.Helper()
	c := dialTLS(t, addr)
	p := &pop3Conn{t, c, bufio.NewReader(c)}
	p.expect("+OK")
	return p
}

func (p *pop3Conn) line() string {
	p.t.Helper()
	return readLine(p.t, p.c, p.r, 10*time.Second, "pop3")
}

func (p *pop3Conn) expect(prefix string) string {
	p.t.Helper()
	l := p.line()
	if !strings.HasPrefix(l, prefix) {
		p.t.Fatalf("pop3: got %q, want %q...", l, prefix)
	}
	return l
}

func (p *pop3Conn) cmd(line, want string) string {
	p.t.Helper()
	fmt.Fprintf(p.c, "%s\r\n", line)
	return p.expect(want)
}

func (p *pop3Conn) login(user, pw string) {
	p.t.Helper()
	p.cmd("USER "+user, "+OK")
	p.cmd("PASS "+pw, "+OK maildrop locked")
}

func TestPOP3LockAuthPlainAndSuspended(t *testing.T) {
	n := mailboxNode(t)
	submitPy(t, n, carol, 1, testMessage(1))
	a := dialPOP3S(t, n.Addr("pop3s"))
	a.cmd("AUTH PLAIN "+b64("\x00"+carol+"\x00"+carolPW), "+OK maildrop locked and ready")
	b := dialPOP3S(t, n.Addr("pop3s"))
	b.cmd("USER "+carol, "+OK")
	b.cmd("PASS "+carolPW, "-ERR [IN-USE] mailbox is locked by another POP3 session")
	// AUTH PLAIN without initial response: "+ " continuation (RFC 5034 §4).
	c := dialPOP3S(t, n.Addr("pop3s"))
	c.cmd("AUTH PLAIN", "+ ")
	c.cmd(b64("\x00"+dave+"\x00"+davePW), "+OK maildrop locked")
	c.cmd("STAT", "+OK 0 0")
	c.cmd("AUTH PLAIN", "-ERR AUTH is not valid after login") // already in TRANSACTION
	a.cmd("QUIT", "+OK")
	b.cmd("PASS "+carolPW, "-ERR USER first")
	b.login(carol, carolPW)
	b.cmd("STAT", "+OK 1 ")
	b.cmd("QUIT", "+OK")

	n.MustCLI("", "user", "suspend", carol, "--reason", "test")
	d := dialPOP3S(t, n.Addr("pop3s"))
	d.cmd("AUTH", "+OK SASL mechanisms follow")
	if l1, l2 := d.line(), d.line(); l1 != "PLAIN" || l2 != "." {
		t.Fatalf("bare AUTH listed %q %q", l1, l2)
	}
	d.cmd("AUTH LOGIN", "-ERR unsupported SASL mechanism")
	d.cmd("USER "+carol, "+OK")
	d.cmd("PASS "+carolPW, "-ERR [AUTH] authentication failed")
	d.cmd("USER nobody@example.org", "+OK")
	d.cmd("PASS "+carolPW, "-ERR [AUTH] authentication failed")
	d.cmd("USER "+dave, "+OK")
	d.cmd("PASS nope", "-ERR [AUTH] authentication failed")
	d.cmd("AUTH PLAIN "+b64("\x00"+dave+"\x00nope"), "-ERR [AUTH] authentication failed")
	d.cmd("AUTH PLAIN "+b64("\x00"+dave+"\x00nope2"), "-ERR [AUTH] authentication failed")
	// limits.max_auth_failures (default 5) reached: the server hangs up.
	d.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if l, err := d.r.ReadString('\n'); err != io.EOF {
		t.Fatalf("after 5 failed logins: read %q, %v; want the connection closed", l, err)
	}
}

func TestPOP3CurlAndFetchmail(t *testing.T) {
	NeedTool(t, "curl")
	n := mailboxNode(t)
	submitPy(t, n, carol, 2, testMessages(2)...)
	files := n.Maildir(carol)
	sort.Strings(files)
	m0, m1 := readFile(t, files[0]), readFile(t, files[1])
	out, err := exec.Command("curl", "-sS", "-k", "--user", carol+":"+carolPW,
		fmt.Sprintf("pop3s://127.0.0.1:%d/", n.Ports["pop3s"])).CombinedOutput()
	if err != nil {
		t.Fatalf("curl list: %v\n%s", err, out)
	}
	s0, s1 := len(m0), len(m1)
	if want := fmt.Sprintf("1 %d\r\n2 %d\r\n", s0, s1); string(out) != want {
		t.Fatalf("curl LIST %q want %q", out, want)
	}
	// curl with STLS required on the plain port (--ssl-reqd).
	out, err = exec.Command("curl", "-sS", "-k", "--ssl-reqd", "--user", carol+":"+carolPW,
		fmt.Sprintf("pop3://127.0.0.1:%d/2", n.Ports["pop3"])).CombinedOutput()
	if err != nil {
		t.Fatalf("curl retr: %v\n%s", err, out)
	}
	if string(out) != m1 {
		t.Fatalf("curl RETR 2:\n%q\nwant\n%q", out, m1)
	}

	NeedTool(t, "fetchmail")
	dir := t.TempDir()
	rc := filepath.Join(dir, "fetchmailrc")
	sink := filepath.Join(dir, "sink")
	os.Mkdir(sink, 0o700)
	cfg := fmt.Sprintf(`set no syslog
poll 127.0.0.1 service %d protocol pop3 uidl:
  user "%s" there with password "%s" is "%s" here
  ssl no sslcertck
  nokeep fetchall
  mda "/bin/sh -c 'cat > %s/msg.$$'"
`, n.Ports["pop3s"], carol, carolPW, "root", sink)
	if err := os.WriteFile(rc, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("fetchmail", "-f", rc, "--nodetach", "--idfile", filepath.Join(dir, "ids"), "-v")
	cmd.Env = append(os.Environ(), "HOME="+dir, "FETCHMAILHOME="+dir)
	fo, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fetchmail: %v\n%s", err, fo)
	}
	got, _ := filepath.Glob(filepath.Join(sink, "msg.*"))
	if len(got) != 2 {
		t.Fatalf("fetchmail delivered %d messages\n%s", len(got), fo)
	}
	for _, g := range got {
		b := readFile(t, g)
		if !strings.Contains(b, "\n.dot line\n") || !strings.Contains(b, "\n..two dots\n") {
			t.Fatalf("fetched message not un-stuffed:\n%q", b)
		}
	}
	if left := n.Maildir(carol); len(left) != 0 {
		t.Fatalf("nokeep: %d messages left on the server\n%s", len(left), fo)
	}
}

// RFC 2595 §4 / the STARTTLS command-injection class (CVE-2011-0411):
// plaintext pipelined after STLS is never executed; the server hangs up.
func TestPOP3STLSInjectionRefused(t *testing.T) {
	n := mailboxNode(t)
	c, err := net.Dial("tcp", n.Addr("pop3"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := &pop3Conn{t, c, bufio.NewReader(c)}
	p.expect("+OK")
	fmt.Fprintf(c, "STLS\r\nUSER %s\r\n", carol)
	p.expect("+OK begin TLS negotiation")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if l, err := p.r.ReadString('\n'); err != io.EOF {
		t.Fatalf("after injected STLS: %q %v, want the connection closed", l, err)
	}
	// Without injection, STLS works and login follows.
	c2, err := net.Dial("tcp", n.Addr("pop3"))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	p2 := &pop3Conn{t, c2, bufio.NewReader(c2)}
	p2.expect("+OK")
	p2.cmd("STLS", "+OK begin TLS negotiation")
	tc := tls.Client(c2, &tls.Config{InsecureSkipVerify: true})
	p3 := &pop3Conn{t, tc, bufio.NewReader(tc)}
	p3.cmd("CAPA", "+OK capability list follows")
	for l := p3.line(); l != "."; l = p3.line() {
		if l == "STLS" {
			t.Fatal("STLS offered again under TLS")
		}
	}
	p3.login(carol, carolPW)
	p3.cmd("QUIT", "+OK")
}
