package e2e

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"
)

// Issue 2 §3: command and data timeouts. An idle client is disconnected
// after command_timeout; a client that stops in the middle of DATA after
// data_timeout, and its partial message is never delivered.
func TestSubmissionTimeouts(t *testing.T) {
	n := submissionNode(t, "[limits]\ncommand_timeout = \"1s\"\ndata_timeout = \"2s\"\n")
	idle := dialRaw(t, n.Addr("submission"))
	idle.cmd("EHLO client.test", "250 ")

	stalled := login(t, n, alice, alicePW)
	stalled.cmd("MAIL FROM:<alice@example.net>", "250 ")
	stalled.cmd("RCPT TO:<bob@example.net>", "250 ")
	stalled.cmd("DATA", "354 ")
	stalled.write("From: alice@example.net\r\nSubject: stalled\r\n\r\nhalf a mess")

	// RFC 5321 §4.5.3.2: the server may close a connection that timed
	// out, with a 421; the stalled transaction is never acknowledged.
	for name, c := range map[string]*rawSMTP{"idle": idle, "stalled in DATA": stalled} {
		c.conn.SetReadDeadline(time.Now().Add(15 * time.Second))
		b, err := c.r.ReadString(0) // everything until the close
		t.Logf("%s: %q", name, b)
		if err == nil || strings.Contains(b, "250") || strings.Contains(b, "127.0.0.1") || !strings.HasSuffix(b, "421 4.4.2 Idle timeout, bye bye\r\n") {
			t.Fatalf("%s client got %q (%v), want a 421 4.4.2 and a close", name, b, err)
		}
	}
	// The node still serves, and only the complete message arrives.
	c := login(t, n, alice, alicePW)
	c.cmd("MAIL FROM:<alice@example.net>", "250 ")
	c.cmd("RCPT TO:<bob@example.net>", "250 ")
	c.cmd("DATA", "354 ")
	c.write(msg(alice, bob, "complete", "ok\r\n") + ".\r\n")
	c.expectReply("250 ")
	c.cmd("QUIT", "221 ")
	files := n.WaitMaildir(bob, 1)
	if !strings.Contains(readFile(t, files[0]), "Subject: complete\r\n") {
		t.Fatal("wrong message delivered")
	}
}

// Issue 2 §3: line length. A command line over max_line_length is refused
// and the session closed (RFC 5321 §4.5.3.1.4 allows limits; §4.2.2 500
// "line too long"); in DATA an over-long line refuses the message.
func TestSubmissionLineLength(t *testing.T) {
	n := submissionNode(t, "[limits]\nmax_line_length = 1000\n")
	c := login(t, n, alice, alicePW)
	c.write("NOOP " + strings.Repeat("x", 2000) + "\r\n")
	code, text := c.reply()
	if code != 500 || !c.closed() {
		t.Fatalf("over-long command: %q, want 500 and a close", text)
	}

	d := login(t, n, alice, alicePW)
	d.cmd("MAIL FROM:<alice@example.net>", "250 ")
	d.cmd("RCPT TO:<bob@example.net>", "250 ")
	d.cmd("DATA", "354 ")
	d.write(msg(alice, bob, "long line", strings.Repeat("y", 3000)+"\r\n") + ".\r\n")
	d.expectReply("554 5.6.0 Message has a line longer than the limit")
	if len(n.SettledMaildir(bob)) != 0 {
		t.Fatal("message with an over-long line delivered")
	}
}

// RFC 8997 / issue 2 §3: TLS 1.2 is the minimum on 465 and after STARTTLS.
func TestSubmissionTLSMinimum(t *testing.T) {
	n := submissionNode(t, "")
	old := &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}
	if c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", n.Addr("submissions"), old); err == nil {
		c.Close()
		t.Fatal("TLS 1.1 handshake succeeded on 465")
	}
	c := dialRaw(t, n.Addr("submission"))
	c.cmd("EHLO client.test", "250 ")
	c.cmd("STARTTLS", "220 ")
	tc := tls.Client(c.conn, old)
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err == nil {
		t.Fatal("TLS 1.1 handshake succeeded after STARTTLS")
	}
	// TLS 1.2 exactly works on both.
	v12 := &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12}
	s, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", n.Addr("submissions"), v12)
	if err != nil {
		t.Fatalf("TLS 1.2 on 465: %v", err)
	}
	s.Close()
}
