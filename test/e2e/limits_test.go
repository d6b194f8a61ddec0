package e2e

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// lineConn is one client connection read line by line.
type lineConn struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// dialLine connects to addr from the loopback address local, with TLS
// from the first byte if tlsPort.
func dialLine(t *testing.T, local, addr string, tlsPort bool) *lineConn {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if tlsPort {
		c = tls.Client(c, insecureTLS)
	}
	return &lineConn{t: t, conn: c, r: bufio.NewReader(c)}
}

func (c *lineConn) line() string {
	c.t.Helper()
	return readLine(c.t, c.conn, c.r, 20*time.Second, "client")
}

func (c *lineConn) send(cmd string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c.conn, cmd+"\r\n"); err != nil {
		c.t.Fatalf("write %q: %v", cmd, err)
	}
}

// expect reads one line and fails unless it starts with prefix.
func (c *lineConn) expect(prefix string) string {
	c.t.Helper()
	l := c.line()
	if !strings.HasPrefix(l, prefix) {
		c.t.Fatalf("got %q, want %q...", l, prefix)
	}
	return l
}

// expectClosed fails unless the server closes the connection next.
func (c *lineConn) expectClosed() {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	if b, err := c.r.ReadByte(); err == nil {
		rest, _ := c.r.ReadString('\n')
		c.t.Fatalf("connection still open, read %q", string(b)+rest)
	}
}

// Each service's greeting, its refusals over the per-address and the
// total cap (internal/smtpd, imapd, pop3d Refusals), and its ports.
var capServices = []struct {
	name, plain, tlsPort, greeting, perIP, total string
}{
	{"imap", "imap", "imaps", "* OK ",
		"* BYE [UNAVAILABLE] Too many connections from your address, try again later",
		"* BYE [UNAVAILABLE] Too many connections, try again later"},
	{"pop3", "pop3", "pop3s", "+OK ",
		"-ERR [SYS/TEMP] Too many connections from your address, try again later",
		"-ERR [SYS/TEMP] Too many connections, try again later"},
	{"submission", "submission", "submissions", "220 ",
		"421 4.7.0 Too many connections from your address, try again later",
		"421 4.3.2 Too many connections, try again later"},
	{"mx", "mx", "", "220 ",
		"421 4.7.0 Too many connections from your address, try again later",
		"421 4.3.2 Too many connections, try again later"},
}

// Issue 13 §4: every service caps connections per client address and in
// total, answers the one over a cap with its protocol's refusal, and
// frees a slot as soon as a client closes, before any QUIT.
func TestConnectionCapsOnEveryService(t *testing.T) {
	n := NewNode(t, "", "[limits]\nmax_connections_per_ip = 2\nmax_connections = 3\n")
	n.Start()
	for _, s := range capServices {
		t.Run(s.name, func(t *testing.T) {
			addr := n.Addr(s.plain)
			a := dialLine(t, "127.0.0.1", addr, false)
			a.expect(s.greeting)
			dialLine(t, "127.0.0.1", addr, false).expect(s.greeting)
			over := dialLine(t, "127.0.0.1", addr, false)
			if got := over.line(); got != s.perIP {
				t.Fatalf("third connection from one address got %q, want %q", got, s.perIP)
			}
			over.expectClosed()
			if s.tlsPort != "" {
				// The implicit-TLS port counts with the plaintext one and
				// refuses in TLS.
				overTLS := dialLine(t, "127.0.0.1", n.Addr(s.tlsPort), true)
				if got := overTLS.line(); got != s.perIP {
					t.Fatalf("%s over the cap got %q, want %q", s.tlsPort, got, s.perIP)
				}
			}
			dialLine(t, "127.0.0.2", addr, false).expect(s.greeting)
			overAll := dialLine(t, "127.0.0.3", addr, false)
			if got := overAll.line(); got != s.total {
				t.Fatalf("connection over the total got %q, want %q", got, s.total)
			}
			overAll.expectClosed()
			// A client that hangs up frees its slot at once.
			a.conn.Close()
			dialLine(t, "127.0.0.1", addr, false).expect(s.greeting)
		})
	}
}

// Issue 15 §1: a client with idle connections that use up the node's
// open files made the POP3 accept loop fail with EMFILE, and the node
// shut down. Now accepts back off and resume: once the connections go,
// every service answers again.
func TestNodeSurvivesRunningOutOfFiles(t *testing.T) {
	NeedTool(t, "prlimit")
	n := NewNode(t, "", "[limits]\nmax_connections_per_ip = 5000\nmax_connections = 5000\n")
	n.AddUser("alice@example.net", "alice-secret-1")
	n.Wrap = []string{"prlimit", "--nofile=128:128", "--"}
	n.Start()
	if !strings.Contains(n.Log(), "open files limit 128") {
		t.Errorf("serve did not report its open-file limit:\n%s", n.Log())
	}
	var idle []net.Conn
	for len(idle) < 400 && !strings.Contains(n.Log(), "accept failed, retrying") {
		c, err := net.DialTimeout("tcp", n.Addr("pop3"), 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", len(idle), err)
		}
		idle = append(idle, c)
	}
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(n.Log(), "accept failed, retrying"); time.Sleep(50 * time.Millisecond) {
		select {
		case <-n.exited:
			t.Fatalf("the node ended after %d idle POP3 connections:\n%s", len(idle), n.Log())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d idle connections never used up 128 files:\n%s", len(idle), n.Log())
		}
	}
	for _, c := range idle {
		c.Close()
	}
	dialLine(t, "127.0.0.1", n.Addr("mx"), false).expect("220 ")
	dialLine(t, "127.0.0.1", n.Addr("imap"), false).expect("* OK ")
	p := dialLine(t, "127.0.0.1", n.Addr("pop3s"), true)
	p.expect("+OK ")
	p.send("USER alice@example.net")
	p.expect("+OK")
	p.send("PASS alice-secret-1")
	p.expect("+OK")
	select {
	case <-n.exited:
		t.Fatalf("the node ended:\n%s", n.Log())
	default:
	}
}

// Issue 15 §1 / 13 §4: clients that never log in are closed at
// login_timeout with their protocol's reply, however busy they keep the
// session, and one that never starts TLS on an implicit-TLS port too;
// a session that logged in in time stays.
func TestLoginTimeoutClosesClientsThatNeverLogIn(t *testing.T) {
	n := NewNode(t, "", "[limits]\nlogin_timeout = \"2s\"\n")
	n.AddUser("alice@example.net", "alice-secret-1")
	n.Start()

	imapIn := dialLine(t, "127.0.0.1", n.Addr("imaps"), true)
	imapIn.expect("* OK ")
	imapIn.send("a LOGIN alice@example.net alice-secret-1")
	imapIn.expect("a OK")
	popIn := dialLine(t, "127.0.0.1", n.Addr("pop3s"), true)
	popIn.expect("+OK ")
	popIn.send("USER alice@example.net")
	popIn.expect("+OK")
	popIn.send("PASS alice-secret-1")
	popIn.expect("+OK")

	// All opened at once: each waits out the same deadline.
	imap := dialLine(t, "127.0.0.1", n.Addr("imap"), false)
	imaps := dialLine(t, "127.0.0.1", n.Addr("imaps"), true)
	pop := dialLine(t, "127.0.0.1", n.Addr("pop3"), false)
	sub := dialLine(t, "127.0.0.1", n.Addr("submission"), false)
	silent := dialLine(t, "127.0.0.1", n.Addr("imaps"), false) // never starts TLS

	imap.expect("* OK ")
	imap.send("a NOOP") // activity does not move the deadline
	imap.expect("a OK")
	imaps.expect("* OK ")
	pop.expect("+OK ")
	pop.send("CAPA")
	for pop.line() != "." {
	}
	sub.expect("220 ")
	sub.send("EHLO client.example")
	for !strings.HasPrefix(sub.line(), "250 ") {
	}

	for name, c := range map[string]*lineConn{"IMAP": imap, "IMAPS": imaps} {
		if got := c.line(); got != "* BYE Autologout; no login in time" {
			t.Fatalf("%s got %q, want the autologout BYE", name, got)
		}
		c.expectClosed()
	}
	if got := pop.line(); got != "-ERR Disconnected: no login in time" {
		t.Fatalf("POP3 got %q, want the login timeout -ERR", got)
	}
	pop.expectClosed()
	sub.expect("421 4.4.2 ")
	sub.expectClosed()
	// No TLS handshake at all: closed at the deadline, not held forever.
	silent.expectClosed()

	// The sessions that logged in are older than the deadline and stay.
	imapIn.send("b NOOP")
	imapIn.expect("b OK")
	popIn.send("STAT")
	popIn.expect("+OK 0 0")
}

// Issue 13 §4: Postfix's smtp-source, 20 sessions at once and each
// reconnecting as soon as it has its 221 (as Postfix's smtp client to one
// destination), was turned away at the banner by a per-IP cap of 20:
// slots were freed when the server's session ended, not when the client
// had gone. With the cap at 20 it is now served completely.
func TestMXServesSmtpSourceAtTheConnectionCap(t *testing.T) {
	src := NeedTool(t, "smtp-source")
	n := mxNode(t, "[limits]\nmax_connections_per_ip = 20\n")
	out, err := exec.Command(src, "-s", "20", "-m", "300", "-f", "sender@peer.example", "-t", "alice@example.net",
		"-M", "client.peer.example", n.Addr("mx")).CombinedOutput()
	if err != nil || strings.Contains(string(out), "421") {
		t.Fatalf("smtp-source: %v\n%s", err, out)
	}
	n.WaitMaildir("alice@example.net", 300)
}

// An MX session ends at session_timeout however busy the client keeps it
// (a NOOP every command_timeout would otherwise hold its slot for ever).
func TestMXSessionTimeout(t *testing.T) {
	n := mxNode(t, "[limits]\ndata_timeout = \"1s\"\nsession_timeout = \"2s\"\n")
	c := dialLine(t, "127.0.0.1", n.Addr("mx"), false)
	c.expect("220 ")
	c.send("EHLO peer.example")
	for !strings.HasPrefix(c.line(), "250 ") {
	}
	c.send("NOOP")
	c.expect("250 ")
	c.expect("421 4.4.2 ")
	c.expectClosed()
}
