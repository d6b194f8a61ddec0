package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// SMTP smuggling (CVE-2023-51764 and relatives): end-of-data is only
// CRLF "." CRLF (RFC 5321 §4.1.1.4). A bare-LF or bare-CR variant
// followed by a second transaction must stay inside ONE message, and what
// we store has CRLF line ends only, so relaying it can never end another
// server's DATA early.
func TestSubmissionSmugglingIsOneMessage(t *testing.T) {
	n := submissionNode(t, "")
	smuggled := "MAIL FROM:<alice@example.net>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n" +
		"From: alice@example.net\r\nSubject: smuggled\r\n\r\nsecond message\r\n"
	// A bare CR or LF ends a line as CRLF would (Postfix's "normalize"),
	// and the line after it, starting with ".", is unstuffed like any
	// other (RFC 5321 §4.5.2 deletes the first "."): the "." lines vanish,
	// the smuggled commands stay text inside the one message.
	variants := []struct{ name, seq, stored string }{
		{"LF.CRLF", "\n.\r\n", "\r\n\r\n"},
		{"CRLF.LF", "\r\n.\n", "\r\n\r\n"},
		{"LF.LF", "\n.\n", "\r\n\r\n"},
		{"CR.CR", "\r.\r", "\r\n\r\n"},
		// go-smtp (like net/textproto) drops "." CR at the start of a
		// line when no LF follows.
		{"CRLF.CR", "\r\n.\r", "\r\n"},
		{"CR.CRLF", "\r.\r\n", "\r\n\r\n"},
	}
	for i, v := range variants {
		c := login(t, n, alice, alicePW)
		c.cmd("MAIL FROM:<alice@example.net>", "250 ")
		c.cmd("RCPT TO:<bob@example.net>", "250 ")
		c.cmd("DATA", "354 ")
		head := fmt.Sprintf("From: alice@example.net\r\nSubject: variant %d\r\n\r\nfirst part", i)
		c.write(head + v.seq + smuggled + ".\r\n")
		c.expectReply("250 2.0.0 OK queued as ")
		// Had the server ended DATA early, the next replies would answer
		// the smuggled MAIL, RCPT and DATA instead of our QUIT.
		c.cmd("QUIT", "221 ")

		files := n.WaitMaildir(bob, i+1)
		stored := withMarker(t, files, fmt.Sprintf("Subject: variant %d\r\n", i))
		onlyCRLF(t, stored)
		_, body := splitMessage(t, stored)
		if want := "first part" + v.stored + smuggled; body != want {
			t.Fatalf("%s: stored body %q, want %q", v.name, body, want)
		}
	}
	if got := len(n.SettledMaildir(bob)); got != len(variants) {
		t.Fatalf("bob holds %d messages, want %d: a smuggled message was accepted", got, len(variants))
	}
}

// BDAT (RFC 3030, advertised as CHUNKING) goes through the same
// normalization: bare line ends are stored as CRLF.
func TestSubmissionBDATNormalized(t *testing.T) {
	n := submissionNode(t, "")
	c := login(t, n, alice, alicePW)
	c.cmd("MAIL FROM:<alice@example.net>", "250 ")
	c.cmd("RCPT TO:<bob@example.net>", "250 ")
	part1 := "From: alice@example.net\nSubject: bdat\n\nline one\n.\n"
	part2 := "MAIL FROM:<alice@example.net>\r\nline three\r"
	c.write(fmt.Sprintf("BDAT %d\r\n%s", len(part1), part1))
	c.expectReply("250 ")
	c.write(fmt.Sprintf("BDAT %d LAST\r\n%s", len(part2), part2))
	c.expectReply("250 2.0.0 OK queued as ")
	c.cmd("QUIT", "221 ")
	stored := readFile(t, n.WaitMaildir(bob, 1)[0])
	onlyCRLF(t, stored)
	want := "From: alice@example.net\r\nSubject: bdat\r\n\r\nline one\r\n.\r\nMAIL FROM:<alice@example.net>\r\nline three\r\n"
	if !strings.HasSuffix(stored, want) {
		t.Fatalf("stored %q, want it to end with %q", stored, want)
	}
}
