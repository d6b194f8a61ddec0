package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"mailgate/internal/store/storetest"
)

// Issue 15 §2: `user add 'bob/./@example.test'` was accepted and its
// Maildir was bob's. Names that are paths or Maildir's own are refused by
// every command that creates a name, with the rule in the message, on
// SQLite and on PostgreSQL; bob's Maildir is left alone.
func TestCLIRefusesAccountNamesThatArePaths(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testCLIRefusesAccountNamesThatArePaths(t, "") })
	t.Run("postgres", func(t *testing.T) { testCLIRefusesAccountNamesThatArePaths(t, storetest.PostgresDSN(t)) })
}

func testCLIRefusesAccountNamesThatArePaths(t *testing.T, database string) {
	n := NewNode(t, database, "")
	n.MustCLI("", "domain", "add", "example.test")
	n.MustCLI("pw-bob-12345\n", "user", "add", "bob@example.test", "--password-stdin")
	const rule = "an account or alias name is letters, digits and any of"
	for bad, why := range map[string]string{
		"bob/./@example.test":  "'/' is not allowed in an account name",
		"/@example.test":       "'/' is not allowed in an account name",
		"//@example.test":      "'/' is not allowed in an account name",
		"bob/x@example.test":   "'/' is not allowed in an account name",
		`bob\x@example.test`:   `'\\' is not allowed in an account name`,
		"cur@example.test":     `"cur" is a Maildir directory name`,
		"New@example.test":     `"new" is a Maildir directory name`,
		"tmp@example.test":     `"tmp" is a Maildir directory name`,
		"bo\x01b@example.test": "control character U+0001 is not allowed",
	} {
		cliFails(t, n, "pw-evil-12345\n", why, "user", "add", bad, "--password-stdin")
		cliFails(t, n, "", why, "alias", "add", bad, "bob@example.test")
	}
	cliFails(t, n, "pw-evil-12345\n", rule, "user", "add", "bob/./@example.test", "--password-stdin")
	if _, err := os.Stat(filepath.Join(n.Dir, "mail", "example.test")); !os.IsNotExist(err) {
		t.Fatalf("a refused name created a directory under mail/: %v", err)
	}
}

// RFC 5890 §2.3.2.1: a domain added as a U-label is stored as its A-label
// and is one domain with it. Mail to either form reaches the same Maildir
// (under the A-label), from swaks (A-label) and Python's smtplib with
// SMTPUTF8 (U-label, RFC 6531), and a login may name either form.
func TestIDNDomainOneNameInBothForms(t *testing.T) {
	swaks := NeedTool(t, "swaks")
	NeedTool(t, "python3")
	const (
		uniU  = "ünïcödé.test"
		uniA  = "xn--ncd-dma1a7bzb.test"
		bookU = "bücher.example"
		bookA = "xn--bcher-kva.example"
	)
	n := NewNode(t, "", "")
	if out := n.MustCLI("", "domain", "add", "ÜNÏCÖDÉ.test"); out != "domain "+uniA+" added\n" {
		t.Fatalf("domain add (U-label) said %q", out)
	}
	cliFails(t, n, "", "domain "+uniA+": already exists", "domain", "add", uniA)
	cliFails(t, n, "", "already exists; nothing added", "domain", "add", bookU, bookA)
	n.MustCLI("", "domain", "add", bookA)
	if got := n.MustCLI("", "domain", "list"); strings.Contains(got, uniU) || strings.Contains(got, bookU) ||
		!strings.Contains(got, uniA) || !strings.Contains(got, bookA) {
		t.Fatalf("domain list shows other than the A-labels:\n%s", got)
	}
	// Accounts added in the other form than their domain.
	if out := n.MustCLI("pw-user-12345\n", "user", "add", "user@"+uniA, "--password-stdin"); out != "account user@"+uniA+" added\n" {
		t.Fatalf("user add said %q", out)
	}
	if out := n.MustCLI("pw-leser-12345\n", "user", "add", "Leser@"+bookU, "--password-stdin"); out != "account leser@"+bookA+" added\n" {
		t.Fatalf("user add said %q", out)
	}
	cliFails(t, n, "pw-other-12345\n", "already exists", "user", "add", "user@"+uniU, "--password-stdin")
	n.Start()

	// swaks to the MX, A-label recipient of the U-label-added domain.
	out, err := exec.Command(swaks, "-s", n.Addr("mx"), "--ehlo", "sender.test", "-f", "x@sender.test",
		"-t", "user@"+uniA, "--header", "Subject: to the A-label").CombinedOutput()
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	got := readFile(t, n.WaitMaildir("user@"+uniA, 1)[0])
	if !strings.Contains(got, "Subject: to the A-label") {
		t.Fatalf("delivered message:\n%s", got)
	}

	// smtplib with SMTPUTF8 to the MX, U-label recipients of both domains.
	py := `
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="sender.test")
s.ehlo()
print("smtputf8", s.has_extn("smtputf8"))
for rcpt in sys.argv[2:]:
    msg = "From: x@sender.test\r\nTo: " + rcpt + "\r\nSubject: to the U-label\r\n\r\nhello\r\n"
    print(s.sendmail("x@sender.test", [rcpt], msg.encode("utf-8"), mail_options=["SMTPUTF8"]))
s.quit()
`
	out, err = exec.Command("python3", "-c", py, strconv.Itoa(n.Ports["mx"]), "LESER@"+bookU, "user@"+uniU).CombinedOutput()
	if err != nil || string(out) != "smtputf8 True\n{}\n{}\n" {
		t.Fatalf("python: %v\n%s", err, out)
	}
	if got := readFile(t, n.WaitMaildir("leser@"+bookA, 1)[0]); !strings.Contains(got, "Subject: to the U-label") {
		t.Fatalf("delivered message:\n%s", got)
	}
	n.WaitMaildir("user@"+uniA, 2)
	if _, err := os.Stat(filepath.Join(n.Dir, "mail", uniU)); !os.IsNotExist(err) {
		t.Fatalf("a U-label directory exists beside the A-label one: %v", err)
	}

	// A login name in U-label form finds the account.
	c := dialRawTLS(t, n.Addr("submissions"))
	c.cmd("EHLO client.test", "250 ")
	c.cmd("AUTH PLAIN "+plainResp("user@"+uniU, "pw-user-12345"), "235 ")
	c.cmd("QUIT", "221 ")
}

// TestCLIPrintsTheStoredName: every directory command names a domain,
// account or alias as the store keeps it and as `domain list` and `user
// add` print it (lower case, A-labels), whatever form it was typed in.
// (`domain remove bücher.example` said "domain bücher.example removed".)
func TestCLIPrintsTheStoredName(t *testing.T) {
	const (
		bookU = "Bücher.Example"
		bookA = "xn--bcher-kva.example"
	)
	n := NewNode(t, "", "")
	for _, c := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"domain", "add", bookU}, "domain " + bookA + " added\n"},
		{"pw-leser-12345\n", []string{"user", "add", "Leser@" + bookU, "--password-stdin"}, "account leser@" + bookA + " added\n"},
		{"pw-leser-67890\n", []string{"user", "passwd", "LESER@" + bookU, "--password-stdin"}, "password of leser@" + bookA + " changed\n"},
		{"", []string{"user", "suspend", "Leser@" + bookU}, "account leser@" + bookA + " is now suspended\n"},
		{"", []string{"user", "resume", "Leser@" + bookU}, "account leser@" + bookA + " is now active\n"},
		{"", []string{"alias", "add", "Info@" + bookU, "leser@" + bookU}, "alias info@" + bookA + " -> leser@" + bookA + " added\n"},
		{"", []string{"alias", "remove", "INFO@" + bookU}, "alias info@" + bookA + " removed\n"},
		{"", []string{"user", "remove", "Leser@" + bookU}, "account leser@" + bookA + " removed\n"},
		{"", []string{"domain", "remove", bookU}, "domain " + bookA + " removed\n"},
	} {
		if out := n.MustCLI(c.stdin, c.args...); out != c.want {
			t.Errorf("mailgate %s: %q, want %q", strings.Join(c.args, " "), out, c.want)
		}
	}
}
