package e2e

import (
	"strings"
	"testing"
)

// Subaddresses (RFC 5233): bob+news@ reaches bob and sales+q1@ the owner
// of the alias sales@, over real SMTP; an address whose user has no
// account stays unknown (550 5.1.1). Submission lets alice send as
// alice+shop@ but not as bob+x@ (RFC 6409 §6.1).
func TestMXSubaddress(t *testing.T) {
	n := submissionNode(t, "")
	n.MustCLI("", "alias", "add", "sales@example.net", bob)
	msg := func(subject string) []byte {
		return []byte("From: sender@remote.example\r\nSubject: " + subject + "\r\n\r\nbody\r\n")
	}
	for _, rcpt := range []string{"bob+news@example.net", "Sales+Q1@example.net"} {
		out := swaksMX(t, n, "sender@remote.example", rcpt, msg("to "+rcpt))
		if r := rcptReply(out, rcpt); !strings.HasPrefix(r, "250 ") {
			t.Fatalf("RCPT TO:<%s> got %q, want 250:\n%s", rcpt, r, out)
		}
	}
	if got := len(n.SettledMaildir(bob)); got != 2 {
		t.Fatalf("bob holds %d messages, want 2 (bob+news@ and sales+q1@)", got)
	}
	out := swaksMX(t, n, "sender@remote.example", "nobody+x@example.net", msg("unknown"))
	if r := rcptReply(out, "nobody+x@example.net"); r != "550 5.1.1 No such user here" {
		t.Fatalf("RCPT to an unknown user's subaddress got %q:\n%s", r, out)
	}

	c := login(t, n, alice, alicePW)
	c.cmd("MAIL FROM:<alice+shop@example.net>", "250 ")
	c.cmd("RCPT TO:<bob@example.net>", "250 ")
	c.cmd("DATA", "354 ")
	c.write("From: alice+shop@example.net\r\nSubject: from a subaddress\r\n\r\nbody\r\n.\r\n")
	c.expectReply("250 ")
	c.cmd("MAIL FROM:<bob+x@example.net>", "550 5.7.1 Sender address not owned")
	c.cmd("QUIT", "221 ")
}
