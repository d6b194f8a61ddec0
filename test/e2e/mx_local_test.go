package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// mxLocalNode starts a node with alice and bob; alice's script erejects
// mail with the subject "go away".
func mxLocalNode(t *testing.T, extra string) *Node {
	t.Helper()
	n := NewNode(t, "", extra)
	n.AddUser(alice, alicePW)
	n.AddUser(bob, bobPW)
	script := filepath.Join(n.Dir, "reject.sieve")
	os.WriteFile(script, []byte("require \"ereject\";\nif header :is \"subject\" \"go away\" { ereject \"Alice takes no mail on this\"; }\n"), 0o644)
	n.MustCLI("", "sieve", "put", alice, script, "--activate")
	n.Start()
	return n
}

// sendLocalMX sends one message from sender@remote.example to rcpts over the
// MX and returns the reply to the end of DATA.
func sendLocalMX(t *testing.T, n *Node, subject string, rcpts ...string) string {
	t.Helper()
	c := dialRaw(t, n.Addr("mx"))
	c.cmd("EHLO peer.remote.example", "250 ")
	c.cmd("MAIL FROM:<sender@remote.example>", "250 ")
	for _, r := range rcpts {
		c.cmd("RCPT TO:<"+r+">", "250 ")
	}
	c.cmd("DATA", "354 ")
	c.write("From: sender@remote.example\r\nSubject: " + subject + "\r\n\r\nbody\r\n.\r\n")
	_, text := c.reply()
	c.cmd("QUIT", "221 ")
	return text
}

// Issue 13 §2: delivering before the 250, a Sieve ereject of a message
// with one recipient is the SMTP refusal (RFC 5429 §2.1): nothing is
// stored and no DSN is queued. With two recipients the other gets the
// message, and the sender the DSN, as on the spool-first path, where a
// sole recipient's rejection is a DSN too.
func TestMXSieveRejectBeforeTheReply(t *testing.T) {
	n := mxLocalNode(t, "")
	if got := sendLocalMX(t, n, "go away", alice); got != "550 5.7.1 rejected by the recipient's filter: Alice takes no mail on this" {
		t.Fatalf("one recipient: reply %q, want the 550 5.7.1 refusal", got)
	}
	if len(n.Maildir(alice)) != 0 || !spoolEmpty(n) {
		t.Fatalf("refused message stored (%v) or queued", n.Maildir(alice))
	}
	if got := sendLocalMX(t, n, "go away", alice, bob); !strings.HasPrefix(got, "250 2.0.0 OK queued as ") {
		t.Fatalf("two recipients: reply %q, want 250", got)
	}
	if len(n.Maildir(bob)) != 1 || len(n.Maildir(alice)) != 0 {
		t.Fatalf("bob has %v, alice %v: want the message in bob's Maildir only", n.Maildir(bob), n.Maildir(alice))
	}
	waitLog(t, n, `msg="DSN queued"`)
	if strings.Count(n.Log(), `msg="DSN queued"`) != 1 || !strings.Contains(n.Log(), "action=failed to=sender@remote.example rcpts=1") {
		t.Fatalf("want one DSN to sender@remote.example for alice:\n%s", n.Log())
	}

	old := mxLocalNode(t, "[delivery]\nlocal_before_ack = false\n")
	if got := sendLocalMX(t, old, "go away", alice); !strings.HasPrefix(got, "250 2.0.0 OK queued as ") {
		t.Fatalf("spool first: reply %q, want 250 (the rejection is a DSN)", got)
	}
	waitLog(t, old, "action=failed to=sender@remote.example rcpts=1")
}

// Issue 13 §2: the two paths store the same bytes. The same message sent
// to a node of each kind lands in alice's and bob's Maildirs with the same
// content, once the queue ID and time the Received field names are set
// aside, and, delivered before the 250, as one file linked twice.
func TestMXBothPathsStoreTheSameBytes(t *testing.T) {
	stored := func(n *Node) (string, string) {
		if got := sendLocalMX(t, n, "hello", alice, bob); !strings.HasPrefix(got, "250 2.0.0 OK queued as ") {
			t.Fatalf("reply %q", got)
		}
		a, b := n.WaitMaildir(alice, 1), n.WaitMaildir(bob, 1)
		return readFile(t, a[0]), readFile(t, b[0])
	}
	now := mxLocalNode(t, "")
	old := mxLocalNode(t, "[delivery]\nlocal_before_ack = false\n")
	nowA, nowB := stored(now)
	oldA, oldB := stored(old)
	if nowA != nowB || oldA != oldB {
		t.Fatal("alice's and bob's copies differ")
	}
	fa, _ := os.Stat(now.Maildir(alice)[0])
	fb, _ := os.Stat(now.Maildir(bob)[0])
	if !os.SameFile(fa, fb) {
		t.Error("before the 250, alice's and bob's copies are two files, want one linked twice")
	}
	// The ID (id ...) and the date after ';' in the first Received field
	// are the only parts that may differ.
	varying := regexp.MustCompile(`(?s)( id )[0-9a-f]+(.*?;).*?\r\n`)
	norm := func(s string) string { return varying.ReplaceAllString(s, "${1}ID${2} DATE\r\n") }
	if norm(nowA) != norm(oldA) {
		t.Fatalf("the paths stored different bytes:\nbefore the 250:\n%s\nspool first:\n%s", nowA, oldA)
	}
	if !strings.Contains(norm(nowA), " id ID") {
		t.Fatalf("normalization found no queue ID:\n%s", nowA)
	}
}

// Submission (and so webmail) ends where the MX does: a message for a
// mailbox on this node is delivered before the 250, so the recipient's
// Sieve ereject is the reply the submitting client shows at once, and an
// accepted message is in the Maildir when the client hears 250. With the
// spool first the rejection is a 250 and then a DSN.
func TestSubmissionDeliversLocallyBeforeTheReply(t *testing.T) {
	send := func(n *Node) string {
		return runPy(t, `
import smtplib, ssl, os
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP("127.0.0.1", int(os.environ["PORT"]))
s.starttls(context=ctx)
s.login(os.environ["USER"], os.environ["PW"])
for subject in ["go away", "hello"]:
    msg = "From: %s\r\nTo: %s\r\nSubject: %s\r\n\r\nbody\r\n" % (os.environ["USER"], os.environ["RCPT"], subject)
    try:
        s.sendmail(os.environ["USER"], [os.environ["RCPT"]], msg)
        print(subject, 250)
    except smtplib.SMTPDataError as e:
        print(subject, e.smtp_code, e.smtp_error.decode())
s.quit()
`, "PORT="+portOf(n, "submission"), "USER="+bob, "PW="+bobPW, "RCPT="+alice)
	}
	n := mxLocalNode(t, "")
	if got, want := send(n), "go away 550 5.7.1 rejected by the recipient's filter: Alice takes no mail on this\nhello 250\n"; got != want {
		t.Fatalf("before the 250: got\n%s\nwant\n%s", got, want)
	}
	if got := len(n.Maildir(alice)); got != 1 {
		t.Fatalf("alice's Maildir holds %d messages right after the 250, want 1", got)
	}
	old := mxLocalNode(t, "[delivery]\nlocal_before_ack = false\n")
	if got, want := send(old), "go away 250\nhello 250\n"; got != want {
		t.Fatalf("spool first: got\n%s\nwant\n%s", got, want)
	}
	waitLog(t, old, "action=failed to="+bob+" rcpts=1")
}
