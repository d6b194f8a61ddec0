package e2e

import (
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailgate/internal/store/storetest"
)

// rcptReply is the reply swaks shows to RCPT TO:<rcpt>, "" if none.
func rcptReply(out, rcpt string) string {
	m := regexp.MustCompile(`-> RCPT TO:<` + regexp.QuoteMeta(rcpt) + `>\r?\n\s*<[-*~]+ +([^\r\n]*)`).FindStringSubmatch(out)
	if m == nil {
		return ""
	}
	return m[1]
}

// A domain's catch-all (`alias add @DOMAIN ACCOUNT`, Postfix's
// virtual_alias_maps "@domain user", virtual(5)) takes mail for addresses
// no account or alias holds into its target's INBOX; an account or alias
// still gets its own mail; a domain without one still refuses an unknown
// address with 550 5.1.1 (RFC 5321 §3.3), and so does the domain once the
// catch-all is removed. Several addresses it catches in one transaction
// make one copy, as an alias and its target do (delivery's fold).
func TestMXCatchAll(t *testing.T) {
	const sales, carol = "sales@example.net", "carol@other.example"
	n := NewNode(t, "", "")
	n.AddUser(alice, alicePW)
	n.AddUser(bob, bobPW)
	n.AddUser(carol, "carol-secret-1")
	n.MustCLI("", "alias", "add", sales, bob)
	if out := n.MustCLI("", "alias", "add", "@Example.NET", alice); out != "alias @example.net -> alice@example.net added\n" {
		t.Fatalf("alias add said %q", out)
	}
	n.Start()

	msg := func(subject string) []byte {
		return []byte("From: sender@remote.example\r\nSubject: " + subject + "\r\n\r\nbody\r\n")
	}
	out := swaksMX(t, n, "sender@remote.example", "stray@example.net,Other.Stray@example.net,"+alice, msg("caught"))
	for _, rcpt := range []string{"stray@example.net", "Other.Stray@example.net", alice} {
		if r := rcptReply(out, rcpt); !strings.HasPrefix(r, "250 ") {
			t.Fatalf("RCPT TO:<%s> got %q, want 250:\n%s", rcpt, r, out)
		}
	}
	wantReply(t, out, "<-  250 2.0.0 OK queued as ")
	inbox := n.SettledMaildir(alice)
	if len(inbox) != 1 || !strings.Contains(readFile(t, inbox[0]), "Subject: caught\r\n") {
		t.Fatalf("alice's INBOX holds %d messages, want the one caught copy\n%s", len(inbox), n.Log())
	}

	// The exact address wins over the catch-all: an alias, an account.
	for _, rcpt := range []string{sales, bob} {
		wantReply(t, swaksMX(t, n, "sender@remote.example", rcpt, msg("to "+rcpt)), "<-  250 2.0.0 OK queued as ")
	}
	if got := len(n.SettledMaildir(bob)); got != 2 {
		t.Fatalf("bob holds %d messages, want 2 (his own and his alias's)", got)
	}
	if got := len(n.Maildir(alice)); got != 1 {
		t.Fatalf("alice holds %d messages: the catch-all took mail an account or alias holds", got)
	}

	// No catch-all in other.example: unknown stays unknown.
	out = swaksMX(t, n, "sender@remote.example", "stray@other.example", msg("unknown"))
	if r := rcptReply(out, "stray@other.example"); r != "550 5.1.1 No such user here" {
		t.Fatalf("RCPT to an unknown address of a domain without a catch-all got %q:\n%s", r, out)
	}

	// Removed, the catch-all stops catching once the serving node's
	// lookup cache (2 s) has seen the change made by the CLI process.
	if out := n.MustCLI("", "alias", "remove", "@example.net"); out != "alias @example.net removed\n" {
		t.Fatalf("alias remove said %q", out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		out = swaksMX(t, n, "sender@remote.example", "stray@example.net", msg("after removal"))
		r := rcptReply(out, "stray@example.net")
		if r == "550 5.1.1 No such user here" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("RCPT after the catch-all's removal still got %q:\n%s", r, out)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// RFC 6409 §6.1: a catch-all brings its target the domain's stray mail,
// not the right to send as those addresses, in MAIL FROM or in From.
func TestSubmissionCatchAllNotOwned(t *testing.T) {
	n := submissionNode(t, "")
	n.MustCLI("", "alias", "add", "@example.net", alice)
	cmd := exec.Command(NeedSwaksTLS(t), "--server", "127.0.0.1", "--port", strconv.Itoa(n.Ports["submission"]),
		"--ehlo", "laptop.example", "--tls", "--auth", "PLAIN", "--auth-user", alice, "--auth-password", alicePW,
		"--from", "stray@example.net", "--to", bob, "--header", "From: stray@example.net")
	out, _ := cmd.CombinedOutput()
	wantReply(t, string(out), "~> MAIL FROM:<stray@example.net>\n<~* 550 5.7.1 Sender address not owned")

	c := login(t, n, alice, alicePW)
	c.cmd("MAIL FROM:<alice@example.net>", "250 ")
	c.cmd("RCPT TO:<bob@example.net>", "250 ")
	c.cmd("DATA", "354 ")
	c.write("From: stray@example.net\r\nSubject: as the catch-all\r\n\r\nbody\r\n.\r\n")
	c.expectReply("550 5.7.1 From: header address not owned")
	c.cmd("QUIT", "221 ")
	if got := len(n.SettledMaildir(bob)); got != 0 {
		t.Fatalf("bob holds %d messages, want none", got)
	}
}

// The CLI face of a catch-all: add (only for a hosted domain, with the
// error any alias there gets), list, remove, and the domain kept while it
// has one. On SQLite and on PostgreSQL.
func TestCLICatchAll(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testCLICatchAll(t, "") })
	t.Run("postgres", func(t *testing.T) { testCLICatchAll(t, storetest.PostgresDSN(t)) })
}

func testCLICatchAll(t *testing.T, database string) {
	n := NewNode(t, database, "")
	n.MustCLI("", "domain", "add", "example.net")
	n.MustCLI("pw-alice-123\n", "user", "add", "alice@example.net", "--password-stdin")

	cliFails(t, n, "", "domain unknown.example: not found; add it first with `mailgate domain add unknown.example`", "alias", "add", "@unknown.example", "alice@example.net")
	cliFails(t, n, "", "account nobody@example.net: not found", "alias", "add", "@example.net", "nobody@example.net")
	for _, bad := range []string{"@", "@localhost", "@exa_mple.net", "@@example.net"} {
		cliFails(t, n, "", "invalid", "alias", "add", bad, "alice@example.net")
	}
	cliFails(t, n, "", "alias @example.net: not found", "alias", "remove", "@example.net")

	if out := n.MustCLI("", "alias", "add", "@EXAMPLE.net", "alice@example.net"); out != "alias @example.net -> alice@example.net added\n" {
		t.Fatalf("alias add said %q", out)
	}
	cliFails(t, n, "", "address @example.net: already exists", "alias", "add", "@example.net", "alice@example.net")
	if out := n.MustCLI("", "alias", "list"); !regexp.MustCompile(`(?m)^@example\.net +alice@example\.net$`).MatchString(out) {
		t.Fatalf("alias list does not show the catch-all:\n%s", out)
	}
	if out := n.MustCLI("", "alias", "list", "--account", "alice@example.net"); !strings.Contains(out, "@example.net") {
		t.Fatalf("alias list --account does not show the catch-all:\n%s", out)
	}
	cliFails(t, n, "", "still in use", "domain", "remove", "example.net")
	if out := n.MustCLI("", "alias", "remove", "@Example.net"); out != "alias @example.net removed\n" {
		t.Fatalf("alias remove said %q", out)
	}
	if out := n.MustCLI("", "alias", "list"); strings.Contains(out, "@example.net") {
		t.Fatalf("removed catch-all still listed:\n%s", out)
	}
	if out := n.MustCLI("", "alias", "add", "--help"); !strings.Contains(out, "mailgate alias add @example.net alice@example.net") {
		t.Fatalf("alias add --help has no catch-all example:\n%s", out)
	}
}
