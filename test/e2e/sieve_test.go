package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestSieveFiltersAtDelivery: a script stored with `mailgate sieve put`
// sorts mail that swaks sends to the MX: fileinto :create a folder,
// discard, redirect :copy to another local account, and the implicit keep.
func TestSieveFiltersAtDelivery(t *testing.T) {
	swaks := NeedTool(t, "swaks")
	n := NewNode(t, "", "")
	n.AddUser("alice@example.net", "alice-secret-1")
	n.AddUser("bob@example.net", "bob-secret-12")
	script := filepath.Join(n.Dir, "rules.sieve")
	if err := os.WriteFile(script, []byte(`require ["fileinto", "mailbox", "copy", "regex"];
if header :regex "subject" "^\\[acme(-[a-z]+)?\\]" { fileinto :create "Lists.Acme"; stop; }
if header :is "subject" "spam-me" { discard; stop; }
if address :is "from" "boss@remote.example" { redirect :copy "bob@example.net"; }
`), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(n.Dir, "bad.sieve")
	os.WriteFile(bad, []byte("keep;\nfileinto \"x\";\n"), 0o644)
	if out, err := n.CLI("", "sieve", "put", "alice@example.net", bad); err == nil || !strings.Contains(out, "2:1: command 'fileinto' needs require \"fileinto\"") {
		t.Fatalf("put of a broken script: %v\n%s", err, out)
	}
	n.MustCLI("", "sieve", "put", "alice@example.net", script, "--activate")
	if out := n.MustCLI("", "sieve", "list", "alice@example.net"); !strings.Contains(out, "rules  true") {
		t.Fatalf("sieve list:\n%s", out)
	}
	n.Start()
	for _, m := range []struct{ from, subject string }{
		{"list@remote.example", "[acme-users] release"},
		{"x@remote.example", "spam-me"},
		{"boss@remote.example", "see me"},
		{"friend@remote.example", "hello"},
	} {
		out, err := exec.Command(swaks, "-s", "127.0.0.1", "-p", strconv.Itoa(n.Ports["mx"]), "-f", m.from, "-t", "alice@example.net",
			"--header", "From: "+m.from, "--header", "Subject: "+m.subject, "--body", "text").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "<-  250 2.0.0") {
			t.Fatalf("swaks %q: %v\n%s", m.subject, err, out)
		}
	}
	inbox := n.SettledMaildir("alice@example.net")
	subjects := func(files []string) string {
		var s []string
		for _, f := range files {
			b, _ := os.ReadFile(f)
			for _, line := range strings.Split(string(b), "\r\n") {
				if strings.HasPrefix(line, "Subject: ") {
					s = append(s, strings.TrimPrefix(line, "Subject: "))
				}
			}
		}
		return strings.Join(s, "|")
	}
	if got := subjects(inbox); len(inbox) != 2 || !strings.Contains(got, "see me") || !strings.Contains(got, "hello") {
		t.Errorf("alice's INBOX: %q, want \"see me\" and \"hello\"\nlog:\n%s", got, n.Log())
	}
	lists, _ := filepath.Glob(filepath.Join(n.Dir, "mail", "example.net", "alice", ".Lists.Acme", "new", "*"))
	if got := subjects(lists); got != "[acme-users] release" {
		t.Errorf("alice's Lists.Acme: %q", got)
	}
	if got := subjects(n.Maildir("bob@example.net")); got != "see me" {
		t.Errorf("bob (redirect :copy): %q", got)
	}
}

// TestSieveVacationOncePerSender: a vacation script answers the first
// message of a sender, not the second within :days, and not list mail;
// the reply (from <>, Auto-Submitted) reaches the sender's mailbox.
func TestSieveVacationOncePerSender(t *testing.T) {
	swaks := NeedTool(t, "swaks")
	n := NewNode(t, "", "")
	n.AddUser("alice@example.net", "alice-secret-1")
	n.AddUser("bob@example.net", "bob-secret-12")
	script := filepath.Join(n.Dir, "away.sieve")
	os.WriteFile(script, []byte("require \"vacation\";\nvacation :days 7 :subject \"Away\" \"Back on Monday.\";\n"), 0o644)
	n.MustCLI("", "sieve", "put", "alice@example.net", script, "--activate")
	n.Start()
	for i, extra := range []string{"X-N: 1", "X-N: 2", "List-Id: <l.example.org>"} {
		out, err := exec.Command(swaks, "-s", "127.0.0.1", "-p", strconv.Itoa(n.Ports["mx"]), "-f", "bob@example.net", "-t", "alice@example.net",
			"--header", "Subject: message "+strconv.Itoa(i), "--header", extra, "--body", "text").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "<-  250 2.0.0") {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
		n.SettledMaildir("alice@example.net") // in order: the list message after the others
	}
	if got := len(n.SettledMaildir("alice@example.net")); got != 3 {
		t.Errorf("alice holds %d messages, want 3 (vacation keeps)", got)
	}
	replies := n.Maildir("bob@example.net")
	if len(replies) != 1 {
		t.Fatalf("bob got %d replies, want 1\nlog:\n%s", len(replies), n.Log())
	}
	got := readFile(t, replies[0])
	for _, want := range []string{"From: alice@example.net\r\n", "Subject: Away\r\n", "Auto-Submitted: auto-replied", "\r\n\r\nBack on Monday.\r\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("reply lacks %q:\n%s", want, got)
		}
	}
}

// TestManageSieveWithSieveConnect: Debian's sieve-connect (the RFC 5804
// client scripts use) uploads, checks, lists, activates, downloads and
// deletes scripts over STARTTLS; the active one then filters delivery.
func TestManageSieveWithSieveConnect(t *testing.T) {
	sc := NeedTool(t, "sieve-connect")
	swaks := NeedTool(t, "swaks")
	n := NewNode(t, "", "")
	n.AddUser("alice@example.net", "alice-secret-1")
	n.Start()
	run := func(wantOK bool, args ...string) string {
		t.Helper()
		base := []string{"--server", "127.0.0.1", "--port", strconv.Itoa(n.Ports["managesieve"]), "--user", "alice@example.net",
			"--passwordfd", "3", "--notlsverify", "--noclearauth", "--authmech", "PLAIN"}
		cmd := exec.Command(sc, append(base, args...)...)
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.ExtraFiles = []*os.File{pr}
		pw.WriteString("alice-secret-1\n")
		pw.Close()
		out, err := cmd.CombinedOutput()
		pr.Close()
		if (err == nil) != wantOK {
			t.Fatalf("sieve-connect %v: %v\n%s\nserver log:\n%s", args, err, out, n.Log())
		}
		return string(out)
	}
	good := filepath.Join(n.Dir, "good.sieve")
	os.WriteFile(good, []byte("require \"fileinto\";\nif header :contains \"subject\" \"report\" { fileinto \"Reports\"; }\n"), 0o644)
	bad := filepath.Join(n.Dir, "bad.sieve")
	os.WriteFile(bad, []byte("keep;\nfileinto \"x\";\n"), 0o644)

	if out := run(false, "--checkscript", "--localsieve", bad); !strings.Contains(out, "2:1: command 'fileinto' needs require") {
		t.Errorf("checkscript of a broken script:\n%s", out)
	}
	run(false, "--upload", "--localsieve", bad, "--remotesieve", "bad")
	run(true, "--upload", "--localsieve", good, "--remotesieve", "rules")
	run(true, "--activate", "--remotesieve", "rules")
	if out := run(true, "--list"); !strings.Contains(out, "rules") {
		t.Errorf("list:\n%s", out)
	}
	down := filepath.Join(n.Dir, "down.sieve")
	run(true, "--download", "--remotesieve", "rules", "--localsieve", down)
	if got, want := readFile(t, down), readFile(t, good); got != want {
		t.Errorf("downloaded %q, uploaded %q", got, want)
	}
	if out := n.MustCLI("", "sieve", "list", "alice@example.net"); !strings.Contains(out, "rules  true") {
		t.Errorf("the store does not hold the active script:\n%s", out)
	}
	out, err := exec.Command(swaks, "-s", "127.0.0.1", "-p", strconv.Itoa(n.Ports["mx"]), "-f", "x@remote.example", "-t", "alice@example.net",
		"--header", "Subject: weekly report", "--body", "text").CombinedOutput()
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	n.SettledMaildir("alice@example.net")
	if got, _ := filepath.Glob(filepath.Join(n.Dir, "mail", "example.net", "alice", ".Reports", "new", "*")); len(got) != 0 {
		t.Errorf("fileinto a missing folder stored in it: %v", got)
	}
	if got := n.Maildir("alice@example.net"); len(got) != 1 {
		t.Errorf("INBOX holds %d, want the message (Reports does not exist: INBOX)", len(got))
	}
	run(false, "--delete", "--remotesieve", "rules") // the active script
	run(true, "--deactivate")
	run(true, "--delete", "--remotesieve", "rules")
	if out := n.MustCLI("", "sieve", "list", "alice@example.net"); strings.Contains(out, "rules") {
		t.Errorf("deleted script still listed:\n%s", out)
	}
}

// TestSieveFlagsSeenOverIMAP: a message a script marked \Seen and
// \Flagged is read over IMAP (Python's imaplib) with those flags.
func TestSieveFlagsSeenOverIMAP(t *testing.T) {
	swaks := NeedTool(t, "swaks")
	NeedTool(t, "python3")
	n := NewNode(t, "", "")
	n.AddUser("alice@example.net", "alice-secret-1")
	script := filepath.Join(n.Dir, "flags.sieve")
	os.WriteFile(script, []byte("require [\"imap4flags\"];\naddflag [\"\\\\Seen\", \"\\\\Flagged\"];\n"), 0o644)
	n.MustCLI("", "sieve", "put", "alice@example.net", script, "--activate")
	n.Start()
	if out, err := exec.Command(swaks, "-s", "127.0.0.1", "-p", strconv.Itoa(n.Ports["mx"]), "-f", "x@remote.example", "-t", "alice@example.net",
		"--header", "Subject: flagged", "--body", "text").CombinedOutput(); err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	n.SettledMaildir("alice@example.net")
	got := imapPy(t, n, "alice@example.net", "alice-secret-1", `
m = login()
m.select("INBOX")
typ, data = m.fetch("1", "(FLAGS)")
print(d(data)[0])
m.logout()
`)
	if !strings.Contains(got, `\Seen`) || !strings.Contains(got, `\Flagged`) {
		t.Errorf("FETCH FLAGS: %q, want \\Seen and \\Flagged", got)
	}
}

// TestSieveRedirectSendLimit: a redirect counts against the daily send
// limit of the account whose script made it; with recipients_per_day = 1
// the first message is redirected and the second kept in INBOX instead.
func TestSieveRedirectSendLimit(t *testing.T) {
	swaks := NeedTool(t, "swaks")
	n := NewNode(t, "", "[limits]\nrecipients_per_day = 1\n")
	n.AddUser("alice@example.net", "alice-secret-1")
	n.AddUser("bob@example.net", "bob-secret-12")
	script := filepath.Join(n.Dir, "fwd.sieve")
	os.WriteFile(script, []byte("redirect \"bob@example.net\";\n"), 0o644)
	n.MustCLI("", "sieve", "put", "alice@example.net", script, "--activate")
	n.Start()
	for i := 1; i <= 2; i++ {
		out, err := exec.Command(swaks, "-s", "127.0.0.1", "-p", strconv.Itoa(n.Ports["mx"]), "-f", "x@remote.example", "-t", "alice@example.net",
			"--header", "Subject: message "+strconv.Itoa(i), "--body", "text").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "<-  250 2.0.0") {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
		n.SettledMaildir("alice@example.net") // one at a time: the first is the one redirected
	}
	bob, alice := n.Maildir("bob@example.net"), n.Maildir("alice@example.net")
	if len(bob) != 1 || !strings.Contains(readFile(t, bob[0]), "Subject: message 1\r\n") {
		t.Errorf("bob holds %d messages, want message 1 (redirected)\nlog:\n%s", len(bob), n.Log())
	}
	if len(alice) != 1 || !strings.Contains(readFile(t, alice[0]), "Subject: message 2\r\n") {
		t.Errorf("alice holds %d messages, want message 2 (kept past the limit)\nlog:\n%s", len(alice), n.Log())
	}
	if log := n.Log(); !strings.Contains(log, "sieve redirect not made: daily send limit reached") {
		t.Errorf("no log line for the refused redirect:\n%s", log)
	}
}

// TestSieveRedirectToItselfKeeps: a script that redirects to its own
// address (a forwarding set to oneself), or two accounts redirecting to
// each other, answered 250 and stored the message nowhere: the target
// was already a recipient of the queue entry, so the redirect added
// nothing. The redirect closing the loop is refused and the message kept
// (RFC 5228 §10, §2.10.6).
func TestSieveRedirectToItselfKeeps(t *testing.T) {
	swaks := NeedTool(t, "swaks")
	n := NewNode(t, "", "")
	for _, u := range []string{"dave", "carol", "bob"} {
		n.AddUser(u+"@example.net", u+"-secret-12345")
	}
	for acct, to := range map[string]string{"dave": "dave", "carol": "bob", "bob": "carol"} {
		script := filepath.Join(n.Dir, acct+".sieve")
		os.WriteFile(script, []byte(`redirect "`+to+`@example.net";`+"\n"), 0o644)
		n.MustCLI("", "sieve", "put", acct+"@example.net", script, "--activate")
	}
	n.Start()
	for _, to := range []string{"dave@example.net", "carol@example.net"} {
		out, err := exec.Command(swaks, "-s", "127.0.0.1", "-p", strconv.Itoa(n.Ports["mx"]), "-f", "x@remote.example", "-t", to,
			"--header", "Subject: loop", "--body", "text").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "<-  250 2.0.0") {
			t.Fatalf("swaks to %s: %v\n%s", to, err, out)
		}
	}
	n.SettledMaildir("dave@example.net")
	for acct, want := range map[string]int{"dave@example.net": 1, "bob@example.net": 1, "carol@example.net": 0} {
		if got := len(n.Maildir(acct)); got != want {
			t.Errorf("%s holds %d messages, want %d\nlog:\n%s", acct, got, want, n.Log())
		}
	}
}
