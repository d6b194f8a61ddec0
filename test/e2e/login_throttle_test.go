package e2e

import (
	"strings"
	"testing"
)

// loginPy tries logins with Python's smtplib, imaplib and poplib (STARTTLS
// / STLS first), one connection per try, from the source address SRC, and
// prints each server's answer: "smtp 235 ..." / "imap OK" / "pop3 +OK".
const loginPy = `
import base64, imaplib, os, poplib, smtplib, socket, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
src = os.environ["SRC"]

class IMAP(imaplib.IMAP4):
    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(src, 0))

class POP3(poplib.POP3):
    def _create_socket(self, timeout):
        return socket.create_connection((self.host, self.port), timeout, source_address=(src, 0))

def smtp(user, pw):
    s = smtplib.SMTP("127.0.0.1", int(os.environ["SMTP"]), source_address=(src, 0))
    s.starttls(context=ctx); s.ehlo()
    code, msg = s.docmd("AUTH", "PLAIN " + base64.b64encode(("\0" + user + "\0" + pw).encode()).decode())
    print("smtp", code, msg.decode())
    s.close()

def imap(user, pw):
    c = IMAP("127.0.0.1", int(os.environ["IMAP"]))
    c.starttls(ssl_context=ctx)
    try:
        print("imap", c.login(user, pw)[0])
    except imaplib.IMAP4.error as e:
        print("imap NO", e)
    c.shutdown()

def pop3(user, pw):
    c = POP3("127.0.0.1", int(os.environ["POP3"]))
    c.stls(context=ctx)
    try:
        c.user(user)
        print("pop3", c.pass_(pw).decode())
    except poplib.error_proto as e:
        print("pop3", e.args[0].decode())
    c.close()

for line in sys.stdin.read().split("\n"):
    if line:
        proto, user, pw = line.split(" ")
        {"smtp": smtp, "imap": imap, "pop3": pop3}[proto](user, pw)
`

// Issue 11 §2: a password-spraying run from one address over SMTP AUTH,
// IMAP and POP3 is slowed, then blocked with each protocol's temporary
// reply, while the victim logs in from another address all along; the
// operator sees the block and lifts it.
func TestPasswordSprayingIsThrottledNotTheVictim(t *testing.T) {
	n := NewNode(t, "", `
[abuse.login]
delay = "20ms"
max_delay = "100ms"
block_after = 6
block_after_account = 5
block_after_network = 50
block_time = "10m"
`)
	n.AddUser("victim@isp.example", "victim-pass-1")
	n.AddUser("bob@isp.example", "bob-pass-1")
	n.Start()
	env := []string{"SMTP=" + portOf(n, "submission"), "IMAP=" + portOf(n, "imap"), "POP3=" + portOf(n, "pop3")}
	try := func(src string, lines ...string) []string {
		t.Helper()
		out := runPyStdin(t, loginPy, strings.Join(lines, "\n")+"\n", append(env, "SRC="+src)...)
		return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	}
	want := func(got []string, want ...string) {
		t.Helper()
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("answers:\n%s\nwant:\n%s\nserver log:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), n.Log())
		}
	}
	// Six guesses, two per protocol, one password over six accounts.
	want(try("127.0.0.1",
		"smtp victim@isp.example Winter2026!", "smtp bob@isp.example Winter2026!",
		"imap carol@isp.example Winter2026!", "imap dave@isp.example Winter2026!",
		"pop3 erin@isp.example Winter2026!", "pop3 frank@isp.example Winter2026!"),
		"smtp 535 5.7.8 Authentication credentials invalid", "smtp 535 5.7.8 Authentication credentials invalid",
		"imap NO b'[AUTHENTICATIONFAILED] Authentication failed'", "imap NO b'[AUTHENTICATIONFAILED] Authentication failed'",
		"pop3 -ERR [AUTH] authentication failed", "pop3 -ERR [AUTH] authentication failed")
	// Blocked now, on every protocol, the right password included.
	want(try("127.0.0.1",
		"smtp victim@isp.example victim-pass-1", "imap victim@isp.example victim-pass-1", "pop3 victim@isp.example victim-pass-1"),
		"smtp 454 4.7.0 Too many failed logins from your address, try again later",
		"imap NO b'[UNAVAILABLE] Too many failed logins from your address, try again later'",
		"pop3 -ERR [SYS/TEMP] too many failed logins from your address, try again later")
	// The victim, from another address, is not locked out.
	want(try("127.0.0.2",
		"smtp victim@isp.example victim-pass-1", "imap victim@isp.example victim-pass-1", "pop3 victim@isp.example victim-pass-1"),
		"smtp 235 2.0.0 Authentication succeeded", "imap OK", "pop3 +OK maildrop locked and ready")

	log := n.Log()
	for _, w := range []string{"login delayed", "client=127.0.0.1", "login block", "scope=address source=127.0.0.1", "login refused: blocked"} {
		if !strings.Contains(log, w) {
			t.Errorf("server log lacks %q:\n%s", w, log)
		}
	}
	if strings.Contains(log, "login delayed client=127.0.0.2") {
		t.Errorf("the victim's logins were delayed:\n%s", log)
	}
	list := n.MustCLI("", "abuse", "blocks", "list")
	if !strings.Contains(list, "127.0.0.1  address  -        6         ") || !strings.Contains(list, "6 failed logins within 15m0s of each other") {
		t.Fatalf("abuse blocks list:\n%s", list)
	}
	if out := n.MustCLI("", "abuse", "blocks", "remove", "127.0.0.1"); !strings.HasPrefix(out, "127.0.0.1: ") {
		t.Fatalf("remove: %s", out)
	}
	if list := n.MustCLI("", "abuse", "blocks"); strings.Contains(list, "127.0.0.1") {
		t.Fatalf("still listed after remove:\n%s", list)
	}
	// Lifted: within the throttle's one-second cache, logins go through.
	waitFor(t, "the lifted block to reach the server", func() bool {
		return try("127.0.0.1", "pop3 bob@isp.example bob-pass-1")[0] == "pop3 +OK maildrop locked and ready"
	})
}
