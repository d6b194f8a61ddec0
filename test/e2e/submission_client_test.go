package e2e

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawSMTP is a deliberately small SMTP client that writes exactly the bytes
// a test gives it, so tests can send what no well-behaved client library
// would: pipelined data after STARTTLS, bare LF in DATA, AUTH in a
// transaction.
type rawSMTP struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
}

// insecureTLS trusts the node's self-signed certificate; these tests are
// about SMTP, not about PKI.
var insecureTLS = &tls.Config{InsecureSkipVerify: true, ServerName: "mail.test.example", MinVersion: tls.VersionTLS12}

// dialRaw connects in plaintext (port 587) and reads the greeting.
func dialRaw(t testing.TB, addr string) *rawSMTP {
	t.Helper()
	c := dialRawNoGreeting(t, addr)
	c.expectReply("220 ")
	return c
}

// dialRawTLS connects with TLS from the first byte (port 465).
func dialRawTLS(t testing.TB, addr string) *rawSMTP {
	t.Helper()
	conn := dialTLS(t, addr)
	c := &rawSMTP{t: t, conn: conn, r: bufio.NewReader(conn)}
	c.expectReply("220 ")
	return c
}

// write sends bytes as they are.
func (c *rawSMTP) write(b string) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.conn.Write([]byte(b)); err != nil {
		c.t.Fatalf("write %q: %v", b, err)
	}
}

// reply reads one (possibly multi-line) reply and returns its code and
// every line joined by "\n". A closed connection returns code 0.
func (c *rawSMTP) reply() (int, string) {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	var lines []string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			if len(lines) == 0 && line == "" {
				return 0, "connection closed: " + err.Error()
			}
			c.t.Fatalf("reading reply: %v (so far %q %q)", err, lines, line)
		}
		line = strings.TrimRight(line, "\r\n")
		lines = append(lines, line)
		if len(line) < 4 || line[3] != '-' {
			break
		}
	}
	code, _ := strconv.Atoi(lines[0][:min(3, len(lines[0]))])
	return code, strings.Join(lines, "\n")
}

// expectReply reads a reply whose last line starts with want, e.g.
// "530 5.7.0 ", and returns the whole reply.
func (c *rawSMTP) expectReply(want string) string {
	c.t.Helper()
	_, text := c.reply()
	last := text[strings.LastIndexByte(text, '\n')+1:]
	if !strings.HasPrefix(last, want) {
		c.t.Fatalf("got reply %q, want %q...", text, want)
	}
	return text
}

// cmd sends one command line and checks its reply.
func (c *rawSMTP) cmd(line, want string) string {
	c.t.Helper()
	c.write(line + "\r\n")
	return c.expectReply(want)
}

// startTLS upgrades a plaintext session: EHLO must offer STARTTLS.
func (c *rawSMTP) startTLS() {
	c.t.Helper()
	c.cmd("STARTTLS", "220 ")
	c.handshake()
}

// handshake runs the client side of TLS after a 220 to STARTTLS. Nothing
// may have arrived after that 220 in plaintext.
func (c *rawSMTP) handshake() {
	c.t.Helper()
	if c.r.Buffered() != 0 {
		c.t.Fatalf("%d unexpected bytes after the STARTTLS reply", c.r.Buffered())
	}
	tc := tls.Client(c.conn, insecureTLS)
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("TLS handshake: %v", err)
	}
	tc.SetDeadline(time.Time{})
	c.conn, c.r = tc, bufio.NewReader(tc)
}

func plainResp(user, pw string) string {
	return base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pw))
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// login runs EHLO, STARTTLS, EHLO, AUTH PLAIN on a fresh 587 session.
func login(t testing.TB, n *Node, user, pw string) *rawSMTP {
	t.Helper()
	c := dialRaw(t, n.Addr("submission"))
	c.cmd("EHLO client.test", "250 ")
	c.startTLS()
	c.cmd("EHLO client.test", "250 ")
	// RFC 4954 §6 shows 235 2.7.0; go-smtp sends 2.0.0, which is fine.
	c.cmd("AUTH PLAIN "+plainResp(user, pw), "235 2.0.0 ")
	return c
}

// closed reports whether the server closed the connection: a read returns
// EOF or a reset rather than data.
func (c *rawSMTP) closed() bool {
	c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := c.r.ReadByte()
	return err != nil
}

// readFile reads a file or fails the test.
func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// onlyCRLF fails unless every CR and LF in s belongs to a CRLF pair.
func onlyCRLF(t testing.TB, s string) {
	t.Helper()
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\r':
			if i+1 >= len(s) || s[i+1] != '\n' {
				t.Fatalf("bare CR at offset %d in %q", i, s)
			}
		case '\n':
			if i == 0 || s[i-1] != '\r' {
				t.Fatalf("bare LF at offset %d in %q", i, s)
			}
		}
	}
}

// splitMessage splits stored bytes at the first empty line.
func splitMessage(t testing.TB, s string) (header, body string) {
	t.Helper()
	i := strings.Index(s, "\r\n\r\n")
	if i < 0 {
		t.Fatalf("no header/body separator in %q", s)
	}
	return s[:i+2], s[i+4:]
}

// headerCount counts the header fields named name (case-insensitive).
func headerCount(header, name string) int {
	n := 0
	for _, line := range strings.Split(header, "\r\n") {
		if len(line) > len(name) && line[len(name)] == ':' && strings.EqualFold(line[:len(name)], name) {
			n++
		}
	}
	return n
}

func msg(from, to, subject, body string) string {
	return fmt.Sprintf("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n\r\n%s", from, to, subject, body)
}
