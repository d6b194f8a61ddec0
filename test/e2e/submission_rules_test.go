package e2e

import (
	"bufio"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Negative tests for every rule of issue 2 §3, each with the exact reply.

// RFC 6409 §4.3, RFC 4954 §6: MAIL before AUTH is 530 5.7.0, before and
// after STARTTLS.
func TestSubmissionMailBeforeAuth(t *testing.T) {
	n := submissionNode(t, "")
	c := dialRaw(t, n.Addr("submission"))
	c.cmd("EHLO client.test", "250 ")
	c.cmd("MAIL FROM:<alice@example.net>", "530 5.7.0 Authentication required")
	c.startTLS()
	c.cmd("EHLO client.test", "250 ")
	c.cmd("MAIL FROM:<alice@example.net>", "530 5.7.0 Authentication required")
	// RFC 5321 §3.3: out of sequence, 503.
	c.cmd("RCPT TO:<bob@example.net>", "503 5.5.1 ")
	c.cmd("DATA", "503 5.5.1 ")
	s := dialRawTLS(t, n.Addr("submissions"))
	s.cmd("EHLO client.test", "250 ")
	s.cmd("MAIL FROM:<>", "530 5.7.0 Authentication required")
}

// RFC 4954 §4, RFC 8314: no plaintext mechanism without TLS — not offered,
// and refused if tried (523 5.7.10, RFC 5248's "Encryption Needed"),
// without looking at the credentials.
func TestSubmissionAuthNotBeforeSTARTTLS(t *testing.T) {
	n := submissionNode(t, "")
	c := dialRaw(t, n.Addr("submission"))
	ehlo := c.cmd("EHLO client.test", "250 ")
	if strings.Contains(ehlo, "AUTH") || !strings.Contains(ehlo, "250-STARTTLS") {
		t.Fatalf("EHLO before TLS must offer STARTTLS and no AUTH:\n%s", ehlo)
	}
	c.cmd("AUTH PLAIN "+plainResp(alice, alicePW), "523 5.7.10 ")
	c.cmd("AUTH LOGIN", "523 5.7.10 ")
	c.cmd("MAIL FROM:<alice@example.net>", "530 5.7.0 ")
	c.startTLS()
	ehlo = c.cmd("EHLO client.test", "250 ")
	if !strings.Contains(ehlo, "250-AUTH PLAIN LOGIN") || strings.Contains(ehlo, "STARTTLS") {
		t.Fatalf("EHLO under TLS must offer AUTH PLAIN LOGIN and no STARTTLS:\n%s", ehlo)
	}
	c.cmd("AUTH PLAIN "+plainResp(alice, alicePW), "235 ")
}

// RFC 4954 §6: 535 5.7.8, word for word the same for an unknown user, a
// wrong password, an invalid login and a suspended account, over PLAIN and
// LOGIN.
func TestSubmissionBadCredentialsIdentical(t *testing.T) {
	n := submissionNode(t, "[limits]\nmax_auth_failures = 10\n")
	n.AddUser("carol@example.net", "carol-secret-3")
	n.MustCLI("", "user", "suspend", "carol@example.net", "--reason", "test")
	const want = "535 5.7.8 Authentication credentials invalid"
	var replies []string
	for _, cred := range [][2]string{
		{alice, "wrong-password"}, {"nobody@example.net", alicePW}, {"nobody@elsewhere.example", "x"},
		{"not an address", "x"}, {"carol@example.net", "carol-secret-3"}, {"ALICE@EXAMPLE.NET", "Alice-secret-1"},
	} {
		c := dialRawTLS(t, n.Addr("submissions"))
		c.cmd("EHLO client.test", "250 ")
		replies = append(replies, c.cmd("AUTH PLAIN "+plainResp(cred[0], cred[1]), want))
		c.cmd("AUTH LOGIN", "334 VXNlcm5hbWU6")
		c.cmd(b64(cred[0]), "334 UGFzc3dvcmQ6")
		replies = append(replies, c.cmd(b64(cred[1]), want))
		c.cmd("MAIL FROM:<>", "530 5.7.0 ")
	}
	for _, r := range replies {
		if r != want {
			t.Fatalf("replies differ: %q vs %q", r, want)
		}
	}
	// The login is case-insensitive, the password is not.
	c := dialRawTLS(t, n.Addr("submissions"))
	c.cmd("EHLO client.test", "250 ")
	c.cmd("AUTH PLAIN "+plainResp("ALICE@Example.Net", alicePW), "235 ")
	// RFC 4616 §2: an authorization identity of another user is refused.
	c = dialRawTLS(t, n.Addr("submissions"))
	c.cmd("EHLO client.test", "250 ")
	c.cmd("AUTH PLAIN "+b64(bob+"\x00"+alice+"\x00"+alicePW), want)
}

// A suspended account cannot log in; a sending-disabled one logs in but
// cannot start a transaction; a suspension applies to sessions already
// logged in at their next MAIL. Resume makes both work again.
func TestSubmissionSuspendedAndSendingDisabled(t *testing.T) {
	n := submissionNode(t, "")
	live := login(t, n, alice, alicePW)

	n.MustCLI("", "user", "suspend", alice, "--reason", "abuse test")
	c := dialRawTLS(t, n.Addr("submissions"))
	c.cmd("EHLO client.test", "250 ")
	c.cmd("AUTH PLAIN "+plainResp(alice, alicePW), "535 5.7.8 ")
	live.cmd("MAIL FROM:<alice@example.net>", "550 5.7.1 Sending is disabled")

	n.MustCLI("", "user", "resume", alice)
	live.cmd("MAIL FROM:<alice@example.net>", "250 ")
	live.cmd("RSET", "250 ")

	n.MustCLI("", "user", "suspend", alice, "--sending-only")
	c = login(t, n, alice, alicePW)
	c.cmd("MAIL FROM:<alice@example.net>", "550 5.7.1 Sending is disabled")
	c.cmd("MAIL FROM:<>", "550 5.7.1 Sending is disabled")
	live.cmd("MAIL FROM:<alice@example.net>", "550 5.7.1 ")

	n.MustCLI("", "user", "resume", alice)
	c.cmd("MAIL FROM:<alice@example.net>", "250 ")
	c.cmd("RCPT TO:<bob@example.net>", "250 ")
	c.cmd("DATA", "354 ")
	c.write(msg(alice, bob, "after resume", "ok\r\n") + ".\r\n")
	c.expectReply("250 2.0.0 OK queued as ")
	n.WaitMaildir(bob, 1)
}

// RFC 6409 §6.1: MAIL FROM and header From must be the account's own
// addresses (itself, its aliases); MAIL FROM:<> is allowed.
func TestSubmissionSenderAuthorization(t *testing.T) {
	n := submissionNode(t, "")
	n.MustCLI("", "alias", "add", "info@example.net", alice)
	n.MustCLI("", "domain", "add", "shop.example")
	n.MustCLI("", "alias", "add", "sales@shop.example", alice)
	c := login(t, n, alice, alicePW)
	for _, from := range []string{bob, "alice@example.org", "someone@gmail.example", "postmaster@example.net"} {
		c.cmd("MAIL FROM:<"+from+">", "550 5.7.1 Sender address not owned")
	}
	c.cmd("MAIL FROM:<alice%example.org@example.net>", "501 5.1.7 ")

	send := func(envFrom, headerFrom, want string) {
		t.Helper()
		c.cmd("MAIL FROM:<"+envFrom+">", "250 ")
		c.cmd("RCPT TO:<bob@example.net>", "250 ")
		c.cmd("DATA", "354 ")
		c.write("From: " + headerFrom + "\r\nSubject: sender " + envFrom + "\r\n\r\nbody\r\n.\r\n")
		c.expectReply(want)
	}
	send("info@example.net", "<info@example.net>", "250 ")
	send("Sales@Shop.Example", "Shop <sales@shop.example>", "250 ")
	send("", "alice@example.net", "250 ")                    // null return path
	send("alice@example.net", "<ALICE@example.NET>", "250 ") // case does not matter
	send("alice@example.net", "Bob <bob@example.net>", "550 5.7.1 From: header address not owned")
	send("alice@example.net", "alice@example.net, bob@example.net", "550 5.7.1 From: header address not owned")
	send("", "<mallory@evil.example>", "550 5.7.1 From: header address not owned")
	// RFC 5322 §3.6: no From at all is not an acceptable header.
	c.cmd("MAIL FROM:<alice@example.net>", "250 ")
	c.cmd("RCPT TO:<bob@example.net>", "250 ")
	c.cmd("DATA", "354 ")
	c.write("Subject: no from\r\n\r\nbody\r\n.\r\n")
	c.expectReply("554 5.6.0 ")
	// RFC 5322 §3.6: exactly one From. A second one, unchecked, could be
	// the one the recipient's program shows.
	c.cmd("MAIL FROM:<alice@example.net>", "250 ")
	c.cmd("RCPT TO:<bob@example.net>", "250 ")
	c.cmd("DATA", "354 ")
	c.write("From: alice@example.net\r\nFrom: bob@example.net\r\nSubject: two froms\r\n\r\nbody\r\n.\r\n")
	c.expectReply("554 5.6.0 ")
	c.cmd("QUIT", "221 ")
	files := n.WaitMaildir(bob, 4)
	if got := len(n.SettledMaildir(bob)); got != 4 {
		t.Fatalf("bob holds %d messages, want only the 4 accepted (%v)", got, files)
	}
}

// RFC 1870: SIZE is advertised; a declared or actual size over it is 552
// 5.3.4 and nothing is stored.
func TestSubmissionSizeLimit(t *testing.T) {
	n := submissionNode(t, "[limits]\nmax_message_bytes = 20000\n")
	c := login(t, n, alice, alicePW)
	ehlo := c.cmd("EHLO client.test", "250 ")
	if !strings.Contains(ehlo, "250-SIZE 20000") && !strings.Contains(ehlo, "250 SIZE 20000") {
		t.Fatalf("SIZE 20000 not advertised:\n%s", ehlo)
	}
	c.cmd("MAIL FROM:<alice@example.net> SIZE=20001", "552 5.3.4 ")
	c.cmd("MAIL FROM:<alice@example.net> SIZE=19000", "250 ")
	c.cmd("RCPT TO:<bob@example.net>", "250 ")
	c.cmd("DATA", "354 ")
	big := strings.Repeat(strings.Repeat("x", 98)+"\r\n", 250) // 25000 bytes
	c.write(msg(alice, bob, "too big", big) + ".\r\n")
	c.expectReply("552 5.3.4 ")
	// The session goes on and a message within the limit passes.
	c.cmd("MAIL FROM:<alice@example.net>", "250 ")
	c.cmd("RCPT TO:<bob@example.net>", "250 ")
	c.cmd("DATA", "354 ")
	c.write(msg(alice, bob, "fits", big[:15000]) + ".\r\n")
	c.expectReply("250 ")
	stored := readFile(t, n.WaitMaildir(bob, 1)[0])
	if !strings.Contains(stored, "Subject: fits\r\n") {
		t.Fatalf("wrong message delivered:\n%.300s", stored)
	}
	if len(n.SettledMaildir(bob)) != 1 {
		t.Fatal("the oversized message was delivered")
	}
}

// Max recipients per message: 452 4.5.3 (RFC 5321 §4.5.3.1.10); unknown
// users of our domains 550 5.1.1; bad syntax and routing tricks 501.
func TestSubmissionRecipients(t *testing.T) {
	// Remote mail waits for an unreachable smarthost instead of bouncing
	// into alice's mailbox.
	n := submissionNode(t, fmt.Sprintf("[limits]\nmax_recipients = 3\n[delivery]\nsmarthost = \"127.0.0.1:%d\"\n", FreePort(t)))
	c := login(t, n, alice, alicePW)
	c.cmd("MAIL FROM:<alice@example.net>", "250 ")
	c.cmd("RCPT TO:<nobody@example.net>", "550 5.1.1 ")
	c.cmd("RCPT TO:<NoBody@EXAMPLE.net>", "550 5.1.1 ")
	for _, bad := range []string{"<bob%example.net@example.net>", "<\"bob@evil.example\"@example.net>", "<\"bob%evil.example\"@example.net>", "<bob@localhost>", "<bob!host@example.net>"} {
		c.write("RCPT TO:" + bad + "\r\n")
		code, text := c.reply()
		if code != 501 {
			t.Fatalf("RCPT TO:%s: %s, want 501", bad, text)
		}
	}
	// RFC 5321 Appendix C: a source route is ignored, the mail goes to
	// the final mailbox and never through the named relay.
	c.cmd("RCPT TO:<@relay.example,@other.example:bob@example.net>", "250 2.0.0 I'll make sure <bob@example.net> ")
	c.cmd("RCPT TO:<alice@example.net>", "250 ")
	c.cmd("RCPT TO:<someone@remote.example>", "250 ")
	c.cmd("RCPT TO:<other@remote.example>", "452 4.5.3 ")
	c.cmd("DATA", "354 ")
	c.write(msg(alice, bob, "three rcpts", "hi\r\n") + ".\r\n")
	c.expectReply("250 ")
	n.WaitMaildir(bob, 1)
	n.WaitMaildir(alice, 1)
}

// CVE-2011-0411: commands pipelined with STARTTLS in one packet are
// discarded, never answered inside TLS; after TLS the session restarts
// from scratch (RFC 3207 §4.2).
func TestSubmissionSTARTTLSInjection(t *testing.T) {
	n := submissionNode(t, "")
	c := dialRaw(t, n.Addr("submission"))
	c.cmd("EHLO client.test", "250 ")
	c.write("STARTTLS\r\nRSET\r\nMAIL FROM:<alice@example.net>\r\n")
	c.expectReply("220 ")
	// Nothing more may come in plaintext.
	c.conn.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	if b, err := c.r.Peek(1); err == nil {
		t.Fatalf("server answered the injected commands in plaintext: %q", b)
	}
	c.conn.SetReadDeadline(time.Time{})
	c.r = bufio.NewReader(c.conn)
	c.handshake()
	// The first reply inside TLS answers our NOOP, not the injected RSET
	// or MAIL; and the session is new: no EHLO yet.
	c.cmd("NOOP", "250 2.0.0 I have successfully done nothing")
	c.cmd("MAIL FROM:<alice@example.net>", "503 5.5.1 Please introduce yourself first")
	c.cmd("EHLO client.test", "250 ")
	c.cmd("AUTH PLAIN "+plainResp(alice, alicePW), "235 ")
}

// A second STARTTLS, STARTTLS on 465, AUTH twice and AUTH inside a
// transaction get their RFC replies.
func TestSubmissionCommandOrder(t *testing.T) {
	n := submissionNode(t, "")
	c := login(t, n, alice, alicePW)
	// RFC 3207 §4: STARTTLS under TLS is refused.
	c.cmd("STARTTLS", "502 5.5.1 ")
	// RFC 4954 §4: after a successful AUTH, AUTH again is 503.
	c.cmd("AUTH PLAIN "+plainResp(alice, alicePW), "503 5.5.1 ")
	c.cmd("MAIL FROM:<alice@example.net>", "250 ")
	// RFC 4954 §4: AUTH during a transaction is 503.
	c.cmd("AUTH LOGIN", "503 5.5.1 ")
	// RFC 5321 §4.1.4: a second MAIL inside the transaction is 503, and
	// the transaction goes on with its first sender.
	c.cmd("MAIL FROM:<>", "503 5.5.1 Nested MAIL command")
	c.cmd("RCPT TO:<bob@example.net>", "250 ")
	c.cmd("DATA", "354 ")
	c.write(msg(alice, bob, "after nested MAIL", "x\r\n") + ".\r\n")
	c.expectReply("250 ")
	c.cmd("MAIL FROM:<>", "250 ") // a new transaction may start now
	c.cmd("RSET", "250 ")
	c.cmd("MAIL FROM:<alice@example.net>", "250 ")
	c.cmd("QUIT", "221 ")
	n.WaitMaildir(bob, 1)

	s := dialRawTLS(t, n.Addr("submissions"))
	ehlo := s.cmd("EHLO client.test", "250 ")
	if strings.Contains(ehlo, "STARTTLS") || !strings.Contains(ehlo, "AUTH PLAIN LOGIN") {
		t.Fatalf("465 EHLO must offer AUTH and not STARTTLS:\n%s", ehlo)
	}
	s.cmd("STARTTLS", "502 5.5.1 ")
	s.cmd("AUTH LOGIN "+b64(alice), "334 UGFzc3dvcmQ6")
	s.cmd(b64(alicePW), "235 ")
	s.cmd("AUTH LOGIN", "503 5.5.1 ")
	// RFC 4954 §4: "*" cancels an exchange with 501.
	s2 := dialRawTLS(t, n.Addr("submissions"))
	s2.cmd("EHLO client.test", "250 ")
	s2.cmd("AUTH LOGIN", "334 ")
	s2.cmd("*", "501 5.0.0 ")
	s2.cmd("AUTH PLAIN !!notbase64", "454 4.7.0 ")
	s2.cmd("AUTH PLAIN "+b64("no-nul-separators"), "501 5.5.2 ")
	s2.cmd("AUTH CRAM-MD5", "504 5.7.4 ")
}

// RFC 4954 §9: after max_auth_failures failures the server says 421 and
// closes the connection.
func TestSubmissionTooManyAuthFailures(t *testing.T) {
	n := submissionNode(t, "[limits]\nmax_auth_failures = 3\n")
	c := login(t, n, alice, alicePW) // a success first does not reset anything
	_ = c
	s := dialRawTLS(t, n.Addr("submissions"))
	s.cmd("EHLO client.test", "250 ")
	s.cmd("AUTH PLAIN "+plainResp(alice, "bad-1"), "535 5.7.8 ")
	s.cmd("AUTH PLAIN "+plainResp(alice, "bad-2"), "535 5.7.8 ")
	s.cmd("AUTH PLAIN "+plainResp(alice, alicePW+"x"), "421 4.7.0 ")
	if !s.closed() {
		t.Fatal("connection still open after too many AUTH failures")
	}
	// Over 587 too, with LOGIN.
	p := dialRaw(t, n.Addr("submission"))
	p.cmd("EHLO client.test", "250 ")
	p.startTLS()
	p.cmd("EHLO client.test", "250 ")
	for i := 1; i <= 3; i++ {
		p.cmd("AUTH LOGIN "+b64(alice), "334 ")
		want := "535 5.7.8 "
		if i == 3 {
			want = "421 4.7.0 "
		}
		p.cmd(b64(fmt.Sprintf("wrong-%d", i)), want)
	}
	if !p.closed() {
		t.Fatal("connection still open after too many AUTH LOGIN failures")
	}
}
