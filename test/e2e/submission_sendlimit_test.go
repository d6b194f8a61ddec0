package e2e

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"mailgate/internal/store/storetest"
)

// sendLimitScript: twenty sessions of one account at once, each sending one
// message to five remote recipients over submissions with Python's smtplib,
// spread over the nodes given as host:port,host:port...; it prints how many
// recipients were accepted in all.
const sendLimitScript = `
import smtplib, ssl, sys, threading
addrs, user, pw = [a.rsplit(":", 1) for a in sys.argv[1].split(",")], sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
accepted, lock, errors = [0], threading.Lock(), []
def send(i):
    try:
        host, port = addrs[i % len(addrs)]
        s = smtplib.SMTP_SSL(host, int(port), context=ctx, timeout=60)
        s.login(user, pw)
        s.ehlo_or_helo_if_needed()
        s.mail(user)
        n = 0
        for j in range(5):
            code, text = s.rcpt("r%d.%d@remote.example" % (i, j))
            if code == 250:
                n += 1
            elif not (code == 550 and b"5.7.1 Daily sending limit reached: 50 recipients" in text):
                errors.append((code, text))
        if n:
            code, text = s.data(b"From: " + user.encode() + b"\r\nSubject: t\r\n\r\nhi\r\n")
            if code != 250:
                errors.append((code, text))
        s.quit()
        with lock:
            accepted[0] += n
    except Exception as e:
        errors.append(repr(e))
ts = [threading.Thread(target=send, args=(i,)) for i in range(20)]
[t.start() for t in ts]; [t.join() for t in ts]
if errors:
    print("errors:", errors[:3]); sys.exit(1)
print(accepted[0])
`

// TestSubmissionDailyLimitExactUnderConcurrency (issue 11 §1): twenty
// concurrent sessions of one account against recipients_per_day = 50 get
// exactly 50 recipients accepted; the others get 550 5.7.1 naming the
// limit; user limits and user list show what was sent.
func TestSubmissionDailyLimitExactUnderConcurrency(t *testing.T) {
	n := submissionNode(t, "[limits]\nrecipients_per_day = 50\n")
	runSendLimitScript(t, n, n.Addr("submissions"))
	show := n.MustCLI("", "user", "limits", alice)
	if !strings.Contains(show, "recipients per day: 50 (default); sent in the last 24 h: 50") {
		t.Fatalf("user limits:\n%s", show)
	}
	if list := n.MustCLI("", "user", "list"); !strings.Contains(list, "50/") {
		t.Fatalf("user list does not show the 50 recipients sent:\n%s", list)
	}
}

// TestSubmissionDailyLimitReplyReleaseAndLocal (issue 11 §1): past an
// account's own limit RCPT gets 550 5.7.1 with the limit and when it frees
// up (451 4.7.1 with over_limit = "defer"); an abandoned transaction gives
// its recipients back; local recipients never count.
func TestSubmissionDailyLimitReplyReleaseAndLocal(t *testing.T) {
	for _, tc := range []struct{ mode, reply string }{
		{"reject", "550 5.7.1 Daily sending limit reached: 2 recipients per 24 hours; more can be sent from "},
		{"defer", "451 4.7.1 Daily sending limit reached: 2 recipients per 24 hours; more can be sent from "},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			n := submissionNode(t, fmt.Sprintf("[limits]\nover_limit = %q\n", tc.mode))
			n.MustCLI("", "user", "limits", alice, "--recipients-per-day", "2")
			c := login(t, n, alice, alicePW)
			c.cmd("MAIL FROM:<alice@example.net>", "250 ")
			c.cmd("RCPT TO:<x1@remote.example>", "250 ")
			c.cmd("RCPT TO:<x2@remote.example>", "250 ")
			c.cmd("RCPT TO:<x3@remote.example>", tc.reply)
			c.cmd("RCPT TO:<bob@example.net>", "250 ") // local: not counted
			// RSET abandons the transaction: both remote recipients return.
			c.cmd("RSET", "250 ")
			c.cmd("MAIL FROM:<alice@example.net>", "250 ")
			c.cmd("RCPT TO:<y1@remote.example>", "250 ")
			c.cmd("RCPT TO:<y2@remote.example>", "250 ")
			c.cmd("DATA", "354 ")
			c.cmd("From: alice@example.net\r\nSubject: t\r\n\r\nhi\r\n.", "250 ")
			c.cmd("MAIL FROM:<alice@example.net>", "250 ")
			c.cmd("RCPT TO:<y3@remote.example>", tc.reply)
			c.cmd("RCPT TO:<bob@example.net>", "250 ")
			if out := n.MustCLI("", "user", "limits", alice); !strings.Contains(out, "recipients per day: 2 (this account); sent in the last 24 h: 2") {
				t.Fatalf("user limits:\n%s", out)
			}
		})
	}
}

// TestSubmissionDailyLimitSharedByFleet (issue 11 §1): two nodes on one
// PostgreSQL, ten sessions on each: exactly 50 recipients in all.
func TestSubmissionDailyLimitSharedByFleet(t *testing.T) {
	dsn := storetest.PostgresDSN(t)
	extra := "[limits]\nrecipients_per_day = 50\n"
	a := NewNode(t, dsn, extra)
	a.AddUser(alice, alicePW)
	a.Start()
	b := NewNode(t, dsn, extra)
	b.Start()
	runSendLimitScript(t, a, a.Addr("submissions")+","+b.Addr("submissions"))
}

// runSendLimitScript runs sendLimitScript against addrs and wants exactly
// 50 recipients accepted.
func runSendLimitScript(t *testing.T, n *Node, addrs string) {
	t.Helper()
	NeedTool(t, "python3")
	out, err := exec.Command("python3", "-c", sendLimitScript, addrs, alice, alicePW).CombinedOutput()
	if err != nil {
		t.Fatalf("smtplib run: %v\n%s\nnode log:\n%s", err, out, n.Log())
	}
	if got, _ := strconv.Atoi(strings.TrimSpace(string(out))); got != 50 {
		t.Fatalf("accepted %q recipients, want exactly 50", out)
	}
}
