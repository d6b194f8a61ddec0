package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mailgate/internal/store/storetest"
)

// directoryState is everything the directory CLI shows; a failed command
// must leave it exactly as it was.
func directoryState(n *Node) string {
	return n.MustCLI("", "domain", "list") + n.MustCLI("", "user", "list") + n.MustCLI("", "alias", "list")
}

// cliFails runs a command that must fail with exit status 1, print a
// message containing want, and change nothing.
func cliFails(t *testing.T, n *Node, stdin, want string, args ...string) {
	t.Helper()
	before := directoryState(n)
	out, err := n.CLI(stdin, args...)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("mailgate %s: exit %v, want status 1\n%s", strings.Join(args, " "), err, out)
	}
	if !strings.Contains(out, want) {
		t.Fatalf("mailgate %s: message %q does not say %q", strings.Join(args, " "), out, want)
	}
	if after := directoryState(n); after != before {
		t.Fatalf("mailgate %s failed but changed the directory:\nbefore:\n%s\nafter:\n%s", strings.Join(args, " "), before, after)
	}
}

// Issue 2 §2: duplicates, unknown names, invalid addresses, removing a
// domain that still has accounts: a clear error, exit status 1, nothing
// half-done. On SQLite and on PostgreSQL.
func TestCLIDirectoryErrors(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testCLIDirectoryErrors(t, "") })
	t.Run("postgres", func(t *testing.T) { testCLIDirectoryErrors(t, storetest.PostgresDSN(t)) })
}

func testCLIDirectoryErrors(t *testing.T, database string) {
	n := NewNode(t, database, "")
	n.MustCLI("", "domain", "add", "example.net")
	n.MustCLI("pw-alice-123\n", "user", "add", "alice@example.net", "--password-stdin")
	n.MustCLI("", "alias", "add", "info@example.net", "alice@example.net")

	// Domains.
	cliFails(t, n, "", "domain example.net: already exists", "domain", "add", "example.net")
	cliFails(t, n, "", "domain example.net: already exists", "domain", "add", "EXAMPLE.NET")
	cliFails(t, n, "", "already exists; nothing added", "domain", "add", "new1.example", "example.net")
	cliFails(t, n, "", "already exists; nothing added", "domain", "add", "new2.example", "new2.example")
	cliFails(t, n, "", "nothing added", "domain", "add", "new3.example", "bad_domain.example")
	cliFails(t, n, "", "not fully qualified", "domain", "add", "localhost")
	cliFails(t, n, "", "invalid", "domain", "add", "--", "-x.example")
	cliFails(t, n, "", "domain nope.example: not found", "domain", "remove", "nope.example")
	cliFails(t, n, "", "still in use; remove them first", "domain", "remove", "example.net")

	// Accounts.
	cliFails(t, n, "pw-other-123\n", "account alice@example.net: already exists", "user", "add", "alice@example.net", "--password-stdin")
	cliFails(t, n, "pw-other-123\n", "already exists", "user", "add", "ALICE@example.net", "--password-stdin")
	cliFails(t, n, "pw-other-123\n", "already exists as an account or alias", "user", "add", "info@example.net", "--password-stdin")
	cliFails(t, n, "pw-other-123\n", "domain unknown.example: not found; add it first", "user", "add", "bob@unknown.example", "--password-stdin")
	for _, bad := range []string{"bob", "bob@", "@example.net", "b ob@example.net", "bob%x@example.net", "bob!x@example.net", "a@b@example.net", "\"bob\"@example.net", "@relay.example:bob@example.net"} {
		cliFails(t, n, "pw-other-123\n", "invalid", "user", "add", bad, "--password-stdin")
	}
	for _, verb := range [][]string{{"suspend"}, {"resume"}, {"remove"}, {"passwd", "--password-stdin"}} {
		cliFails(t, n, "pw-other-123\n", "account nobody@example.net: not found", append([]string{"user", verb[0], "nobody@example.net"}, verb[1:]...)...)
	}
	cliFails(t, n, "short\n", "password shorter than 8 characters; nothing changed", "user", "add", "bob@example.net", "--password-stdin")
	cliFails(t, n, "\n", "password shorter than 8", "user", "add", "bob@example.net", "--password-stdin")

	// Aliases.
	cliFails(t, n, "", "address info@example.net: already exists", "alias", "add", "info@example.net", "alice@example.net")
	cliFails(t, n, "", "address alice@example.net: already exists", "alias", "add", "alice@example.net", "alice@example.net")
	cliFails(t, n, "", "domain unknown.example: not found", "alias", "add", "x@unknown.example", "alice@example.net")
	cliFails(t, n, "", "account nobody@example.net: not found", "alias", "add", "x@example.net", "nobody@example.net")
	cliFails(t, n, "", "invalid", "alias", "add", "x%y@example.net", "alice@example.net")
	cliFails(t, n, "", "alias nope@example.net: not found", "alias", "remove", "nope@example.net")

	// Removing in the right order works, and then the domain goes.
	n.MustCLI("", "alias", "remove", "info@example.net")
	cliFails(t, n, "", "still in use", "domain", "remove", "example.net")
	n.MustCLI("", "user", "remove", "alice@example.net")
	n.MustCLI("", "domain", "remove", "example.net")
	if got := n.MustCLI("", "domain", "list"); strings.Contains(got, "example.net") {
		t.Fatalf("domain still listed:\n%s", got)
	}
}

// Passwords never come from argv (where `ps` shows them to every user):
// no flag takes one, an extra argument is refused, and without a terminal
// the only way is --password-stdin. The password is not stored in clear.
func TestCLIPasswordNeverOnArgv(t *testing.T) {
	n := NewNode(t, "", "")
	n.MustCLI("", "domain", "add", "example.net")
	const secret = "Correct-Horse-Battery-Staple-77"
	cliFails(t, n, "", "unknown flag: --password", "user", "add", "bob@example.net", "--password", secret)
	cliFails(t, n, "", "unknown flag: --password", "user", "add", "bob@example.net", "--password="+secret)
	cliFails(t, n, "", "accepts 1 arg(s), received 2", "user", "add", "bob@example.net", secret)
	cliFails(t, n, secret+"\n", "pipe it in with --password-stdin", "user", "add", "bob@example.net")
	n.MustCLI(secret+"\nsecond line ignored\n", "user", "add", "bob@example.net", "--password-stdin")
	cliFails(t, n, "", "unknown flag: --password", "user", "passwd", "bob@example.net", "--password", secret)
	cliFails(t, n, "", "accepts 1 arg(s), received 2", "user", "passwd", "bob@example.net", secret)

	// The first stdin line is the password: it logs in.
	n.Start()
	c := dialRawTLS(t, n.Addr("submissions"))
	c.cmd("EHLO client.test", "250 ")
	c.cmd("AUTH PLAIN "+plainResp("bob@example.net", secret), "235 ")
	c.cmd("QUIT", "221 ")
	n.MustCLI("New-Password-For-Bob-1\n", "user", "passwd", "bob@example.net", "--password-stdin")
	c = dialRawTLS(t, n.Addr("submissions"))
	c.cmd("EHLO client.test", "250 ")
	c.cmd("AUTH PLAIN "+plainResp("bob@example.net", secret), "535 5.7.8 ")
	c.cmd("AUTH PLAIN "+plainResp("bob@example.net", "New-Password-For-Bob-1"), "235 ")
	c.cmd("QUIT", "221 ")
	n.Stop()

	// Neither password is anywhere under the data directory (database,
	// WAL, audit log) nor in the server's log.
	filepath.Walk(n.Dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, pw := range []string{secret, "New-Password-For-Bob-1"} {
			if bytes.Contains(b, []byte(pw)) {
				t.Errorf("%s holds the password in clear", p)
			}
		}
		return nil
	})
	if strings.Contains(n.Log(), secret) || strings.Contains(n.Log(), "New-Password") {
		t.Error("the server log holds a password")
	}
}

// TestCLIUnknownCommandsFail: the binary exits 1 for an unknown command or
// help topic, cobra's help and completion commands included, and names
// the usage (`help nosuch` and `completion frob` printed help and exited 0).
func TestCLIUnknownCommandsFail(t *testing.T) {
	n := NewNode(t, "", "")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"nosuch"}, "mailgate: unknown command \"nosuch\" for \"mailgate\"\nusage: mailgate COMMAND [flags] (see `mailgate --help`)\n"},
		{[]string{"help", "nosuch"}, "mailgate: help: unknown command \"nosuch\" for \"mailgate\"\nusage: mailgate help [command] [flags] (see `mailgate help --help`)\n"},
		{[]string{"completion", "frob"}, "mailgate: unknown command \"frob\" for \"mailgate completion\"\nusage: mailgate completion COMMAND [flags] (see `mailgate completion --help`)\n"},
		{[]string{"user", "frob"}, "mailgate: unknown command \"frob\" for \"mailgate user\"\nusage: mailgate user COMMAND [flags] (see `mailgate user --help`)\n"},
	} {
		cliFails(t, n, "", c.want, c.args...)
	}
}
