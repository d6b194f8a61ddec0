package e2e

import (
	"strings"
	"testing"
)

// ownNetPy talks to the MX from SRC with smtplib, running the commands on
// stdin (one a line; "STARTTLS" upgrades, "FEATURES" prints whether AUTH
// is offered, "DATA" sends a short message) and printing each reply.
const ownNetPy = `
import base64, os, smtplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP("127.0.0.1", int(os.environ["MX"]), local_hostname="pc.subscriber.example", source_address=(os.environ["SRC"], 0))
s.ehlo()
for line in sys.stdin.read().split("\n"):
    if not line:
        continue
    if line == "STARTTLS":
        s.starttls(context=ctx); s.ehlo(); continue
    if line == "FEATURES":
        print("auth offered:", s.esmtp_features.get("auth", "no")); continue
    if line.startswith("PLAIN "):
        user, pw = line.split(" ")[1:]
        line = "AUTH PLAIN " + base64.b64encode(("\0" + user + "\0" + pw).encode()).decode()
    if line == "DATA":
        code, msg = s.data(b"From: alice@example.net\r\nTo: friend@elsewhere.example\r\nSubject: hi\r\n\r\nhello\r\n")
    else:
        code, msg = s.docmd(line)
    print(code, msg.decode().split("\n")[0])
s.close()
`

// Issue 11 §4: on port 25 our own subscribers (a pool address) are offered
// AUTH after STARTTLS and then held to the submission rules (sender
// ownership, daily send limits); the own-pool refusal of the reputation
// checks still applies to them unauthenticated, never authenticated. A
// client outside the pools sees no AUTH, as before.
func TestMXOffersAuthToOwnSubscribers(t *testing.T) {
	n := NewNode(t, "", "[reputation]\nrdns = \"off\"\n")
	n.AddUser("alice@example.net", "alice-secret-1")
	n.AddUser("bob@example.net", "bob-secret-1")
	n.MustCLI("", "pool", "add", "dyn-subs", "--kind", "dynamic", "127.0.0.5/32")
	n.MustCLI("", "user", "limits", "alice@example.net", "--recipients-per-day", "1")
	n.Start()
	talk := func(src string, lines ...string) string {
		t.Helper()
		return runPyStdin(t, ownNetPy, strings.Join(lines, "\n")+"\n", "MX="+portOf(n, "mx"), "SRC="+src)
	}
	// want compares replies line by line, each to its expected start.
	want := func(got string, want ...string) {
		t.Helper()
		lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
		ok := len(lines) == len(want)
		for i := 0; ok && i < len(want); i++ {
			ok = strings.HasPrefix(lines[i], want[i])
		}
		if !ok {
			t.Fatalf("replies:\n%swant (line starts):\n%s\nserver log:\n%s", got, strings.Join(want, "\n"), n.Log())
		}
	}
	want(talk("127.0.0.5",
		"FEATURES", "STARTTLS", "FEATURES",
		"MAIL FROM:<bob@remote.example>",
		"PLAIN alice@example.net wrong",
		"PLAIN alice@example.net alice-secret-1",
		"MAIL FROM:<bob@example.net>",
		"MAIL FROM:<alice@example.net>",
		"RCPT TO:<friend@elsewhere.example>",
		"RCPT TO:<other@elsewhere.example>",
		"DATA"),
		"auth offered: no", "auth offered:  PLAIN LOGIN",
		"550 5.7.1 Client [127.0.0.5] is in our dynamic pool dyn-subs (127.0.0.5/32): send through our submission service (port 587 or 465 with authentication), not port 25",
		"535 5.7.8 Authentication credentials invalid",
		"235 2.0.0 Authentication succeeded",
		"550 5.7.1 Sender address not owned by the authenticated account",
		"250 2.0.0 Roger, accepting mail from <alice@example.net>",
		"250 2.0.0 I'll make sure <friend@elsewhere.example> gets this",
		"550 5.7.1 Daily sending limit reached: 1 recipients per 24 hours; more can be sent from 20",
		"250 2.0.0 OK queued as")
	// Outside the pools: an MX like any other, no AUTH.
	want(talk("127.0.0.1", "STARTTLS", "FEATURES", "PLAIN alice@example.net alice-secret-1"),
		"auth offered: no", "504 5.7.4 Unsupported authentication mechanism")
}

// own_network_relay = "ip": old equipment in our pools relays without
// AUTH, but only with a sender in our domains and within the daily send
// limits per address; any other sender is an MX transaction, refused by
// the own-pool check as before.
func TestMXRelaysForOwnPoolsByAddress(t *testing.T) {
	n := NewNode(t, "", "[reputation]\nrdns = \"off\"\n[limits]\nrecipients_per_day = 1\n[abuse]\nown_network_relay = \"ip\"\n")
	n.AddUser("alice@example.net", "alice-secret-1")
	n.MustCLI("", "pool", "add", "dyn-subs", "--kind", "dynamic", "127.0.0.5/32")
	n.Start()
	talk := func(src string, lines ...string) []string {
		t.Helper()
		out := runPyStdin(t, ownNetPy, strings.Join(lines, "\n")+"\n", "MX="+portOf(n, "mx"), "SRC="+src)
		return strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	}
	got := talk("127.0.0.5",
		"MAIL FROM:<bob@remote.example>", "RSET",
		"MAIL FROM:<nobody@example.net>", "RCPT TO:<friend@elsewhere.example>", "DATA",
		"MAIL FROM:<alice@example.net>", "RCPT TO:<other@elsewhere.example>")
	want := []string{
		"550 5.7.1 Client [127.0.0.5] is in our dynamic pool dyn-subs", "250 ",
		"250 2.0.0 Roger, accepting mail from <nobody@example.net>", "250 2.0.0 I'll make sure <friend@elsewhere.example> gets this", "250 2.0.0 OK queued as ",
		"250 2.0.0 Roger", "550 5.7.1 Daily sending limit reached: 1 recipients per 24 hours",
	}
	for i := range want {
		if i >= len(got) || !strings.HasPrefix(got[i], want[i]) {
			t.Fatalf("replies:\n%s\nwant (line starts):\n%s\nlog:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), n.Log())
		}
	}
	if log := n.Log(); !strings.Contains(log, "relay=ip:127.0.0.5") {
		t.Errorf("the relay is not logged with its address:\n%s", log)
	}
	// Outside the pools: no relay, whatever the sender.
	if got := talk("127.0.0.1", "MAIL FROM:<alice@example.net>", "RCPT TO:<friend@elsewhere.example>"); got[1] != "550 5.7.1 Relay access denied" {
		t.Fatalf("relay from outside the pools: %q", got)
	}
}
