package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// quotaMXPy runs a smtplib script against the node's MX; the script gets
// tx(opts, rcpts, size): one transaction from sender@remote.example with
// MAIL FROM parameters opts and a message of exactly size octets, printing
// each RCPT reply (the text only when not 250) and the DATA reply.
func quotaMXPy(t *testing.T, n *Node, body string) string {
	t.Helper()
	prelude := `
import smtplib, os, time
def msg(size):
    head = "From: sender@remote.example\r\nSubject: quota\r\n\r\n"
    out, left = [head], size - len(head)
    while left > 0:
        n = min(76, left)
        if left - n == 1: n -= 1
        out.append("x" * (n - 2) + "\r\n"); left -= n
    return "".join(out)
def tx(opts, rcpts, size, quiet=False):
    s = smtplib.SMTP("127.0.0.1", int(os.environ["MX"]))
    s.ehlo("peer.remote.example")
    s.mail("sender@remote.example", opts)
    ok = 0
    for r in rcpts:
        code, text = s.rcpt(r)
        if not quiet: print("rcpt", r, code, text.decode() if code != 250 else "")
        ok += code == 250
    if ok:
        try:
            code, text = s.data(msg(size))
        except smtplib.SMTPDataError as e:
            code, text = e.smtp_code, e.smtp_error
        if not quiet: print("data", code, text.decode().split(" queued as")[0])
    s.quit()
`
	return runPy(t, prelude+body, "MX="+strconv.Itoa(n.Ports["mx"]))
}

// maildirOctets sums the sizes of every message file of an account's
// Maildir, all folders: its bytes on disk.
func maildirOctets(t *testing.T, n *Node, account string) (octets int64, count int) {
	t.Helper()
	at := strings.LastIndexByte(account, '@')
	root := filepath.Join(n.Dir, "mail", account[at+1:], account[:at])
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if sub := filepath.Base(filepath.Dir(p)); err == nil && !fi.IsDir() && (sub == "new" || sub == "cur") {
			octets += fi.Size()
			count++
		}
		return nil
	})
	return octets, count
}

// trackedUsage sums the account's mailgate-quota file as the node keeps it.
func trackedUsage(t *testing.T, n *Node, account string) (octets int64, count int) {
	t.Helper()
	at := strings.LastIndexByte(account, '@')
	data, err := os.ReadFile(filepath.Join(n.Dir, "mail", account[at+1:], account[:at], "mailgate-quota"))
	if err != nil {
		t.Fatalf("usage file: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	for _, l := range lines[1:] {
		var b int64
		var c int
		fmt.Sscanf(l, "%d %d", &b, &c)
		octets, count = octets+b, count+c
	}
	return octets, count
}

// Mailbox quotas on the MX (delivery before the 250, quota_full =
// defer): alice may hold 3000 octets and holds 2000. An announced SIZE
// that does not fit is 452 4.2.2 at RCPT for alice while bob, in the same
// transaction, gets the message; a message that does not fit is 452 4.2.2
// at DATA when alice is its only recipient, and queued for her (retried)
// when bob shares it. A mailbox already over its quota (lowered to 1000)
// is refused at RCPT without SIZE. IMAP reports the quota (GETQUOTAROOT)
// and refuses an APPEND (NO [OVERQUOTA]); once alice expunges, the queued
// message is delivered and new mail accepted. Usage as tracked equals the
// bytes on disk.
func TestQuotaMX(t *testing.T) {
	n := NewNode(t, "", "[delivery]\nretry_initial = \"200ms\"\nretry_max = \"500ms\"\nscan_interval = \"200ms\"\n")
	n.AddUser(alice, alicePW)
	n.AddUser(bob, bobPW)
	if out := n.MustCLI("", "user", "quota", alice, "3000"); out != alice+"\tquota=3000 (own)\n" {
		t.Fatalf("user quota: %q", out)
	}
	n.Start()

	got := quotaMXPy(t, n, `
tx([], ["`+alice+`"], 2000)
tx(["SIZE=1200"], ["`+alice+`", "`+bob+`"], 300)
tx([], ["`+alice+`"], 1200)
`)
	want := `rcpt alice@example.net 250 
data 250 2.0.0 OK
rcpt alice@example.net 452 4.2.2 Mailbox full
rcpt bob@example.net 250 
data 250 2.0.0 OK
rcpt alice@example.net 250 
data 452 4.2.2 Mailbox full
`
	if got != want {
		t.Fatalf("MX replies:\n%s\nwant:\n%s\nlog:\n%s", got, want, n.Log())
	}
	octets, count := maildirOctets(t, n, alice)
	if count != 1 || octets <= 2000 || octets >= 3000 {
		t.Fatalf("alice's Maildir: %d octets in %d messages, want the first message only", octets, count)
	}
	if !spoolEmpty(n) {
		t.Fatalf("a refused message was queued:\n%s", n.MustCLI("", "queue", "list"))
	}

	// Shared with bob: the 250 is for bob; alice's copy waits in the queue.
	got = quotaMXPy(t, n, `tx([], ["`+alice+`", "`+bob+`"], 1200)`)
	if !strings.HasSuffix(got, "data 250 2.0.0 OK\n") {
		t.Fatalf("shared message: %s", got)
	}
	waitFor(t, "alice's copy deferred as full", func() bool {
		return strings.Contains(n.MustCLI("", "queue", "list"), "452 4.2.2 Mailbox full")
	})
	if _, c := maildirOctets(t, n, bob); c != 2 {
		t.Fatalf("bob holds %d messages, want 2", c)
	}

	// Over the quota once it is lowered: refused at RCPT without SIZE
	// (the server sees the change within its 2 s lookup cache).
	n.MustCLI("", "user", "quota", alice, "1000")
	got = quotaMXPy(t, n, `
for i in range(100):
    s = smtplib.SMTP("127.0.0.1", int(os.environ["MX"])); s.ehlo("peer.remote.example"); s.mail("sender@remote.example")
    code, _ = s.rcpt("`+alice+`"); s.quit()
    if code == 452: break
    time.sleep(0.1)
tx([], ["`+alice+`", "`+bob+`"], 300)
`)
	if want := "rcpt alice@example.net 452 4.2.2 Mailbox full\nrcpt bob@example.net 250 \ndata 250 2.0.0 OK\n"; got != want {
		t.Fatalf("over quota, no SIZE:\n%s\nwant:\n%s", got, want)
	}

	// IMAP: the quota, an APPEND refused, then room made.
	got = imapPy(t, n, alice, alicePW, `
m = login()
caps = d(m.capability()[1][0]).split()
print("caps", "QUOTA" in caps, "QUOTA=RES-STORAGE" in caps)
print(d(m.getquotaroot("INBOX")))
print(d(m.append("INBOX", None, None, b"Subject: a\r\n\r\nb\r\n")))
m.select("INBOX")
m.store("1:*", "+FLAGS", "\\Deleted")
print(d(m.expunge())[0])
print(d(m.getquota('""')))
m.logout()
`)
	want = `caps True True
('OK', [['INBOX ""'], ['"" (STORAGE 3 1)']])
('NO', ['[OVERQUOTA] Mailbox full: delete mail (and expunge it) to make room'])
OK
('OK', ['"" (STORAGE 0 1)'])
`
	if got != want {
		t.Fatalf("IMAP:\n%s\nwant:\n%s", got, want)
	}
	n.MustCLI("", "user", "quota", alice, "default") // unlimited ([mailbox] quota unset)
	n.WaitMaildir(alice, 1)                          // the queued copy, retried
	waitSpoolEmpty(t, n)
	got = quotaMXPy(t, n, `tx(["SIZE=5000"], ["`+alice+`"], 5000)`)
	if got != "rcpt alice@example.net 250 \ndata 250 2.0.0 OK\n" {
		t.Fatalf("after the expunge: %s", got)
	}
	octets, count = maildirOctets(t, n, alice)
	if tb, tc := trackedUsage(t, n, alice); tb != octets || tc != count || count != 2 {
		t.Fatalf("tracked usage %d octets in %d messages, on disk %d in %d; want equal, 2 messages", tb, tc, octets, count)
	}
	if out, want := n.MustCLI("", "user", "quota", alice), fmt.Sprintf("%s\tquota=unlimited (default) usage=%d octets, %d messages\n", alice, octets, count); out != want {
		t.Fatalf("user quota: %q, want %q", out, want)
	}
}

// quota_full = "reject": a full mailbox is 552 5.2.2, at RCPT (SIZE) and
// at DATA, and nothing is queued.
func TestQuotaMXReject(t *testing.T) {
	n := NewNode(t, "", "[mailbox]\nquota = \"1KiB\"\nquota_full = \"reject\"\n")
	n.AddUser(alice, alicePW)
	n.Start()
	got := quotaMXPy(t, n, `
tx(["SIZE=2000"], ["`+alice+`"], 300)
tx([], ["`+alice+`"], 2000)
`)
	want := "rcpt alice@example.net 552 5.2.2 Mailbox full\nrcpt alice@example.net 250 \ndata 552 5.2.2 Mailbox full\n"
	if got != want {
		t.Fatalf("replies:\n%s\nwant:\n%s", got, want)
	}
	if len(n.Maildir(alice)) != 0 || !spoolEmpty(n) {
		t.Fatalf("stored %v or queued", n.Maildir(alice))
	}
}
