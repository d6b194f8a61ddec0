package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// wantNotices fails unless alice's INBOX holds exactly the quota warnings
// for pcts, in that order.
func wantNotices(t *testing.T, n *Node, account, when string, pcts ...int) {
	t.Helper()
	got := quotaNotices(t, n, account)
	var subjects, want []string
	for _, g := range got {
		subjects = append(subjects, g.Subject)
	}
	for _, p := range pcts {
		want = append(want, fmt.Sprintf("メールボックスの容量が %d%% を超えました / Your mailbox is over %d%% full", p, p))
	}
	if strings.Join(subjects, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s: notices %q, want %q\nlog:\n%s", when, subjects, want, n.Log())
	}
}

// TestQuotaWarningIMAP: with quota_warnings = [80, 95] and a quota of
// 100000 octets, IMAP APPENDs (imaplib) that take alice past 80 % bring
// exactly one notice, as a delivery would; a delivery that leaves her
// between 80 and 95 % adds none (it crossed nothing), and a COPY past
// 95 % brings the second. The usage file still equals the bytes on disk.
func TestQuotaWarningIMAP(t *testing.T) {
	n := NewNode(t, "", "[mailbox]\nquota_warnings = [80, 95]\n")
	n.AddUser(alice, alicePW)
	n.MustCLI("", "user", "quota", alice, "100000")
	n.Start()
	imap := func(body string) {
		t.Helper()
		out := imapPy(t, n, alice, alicePW, `
def msg(size):
    head = b"From: bob@example.net\r\nSubject: appended\r\n\r\n"
    return head + b"x" * (size - len(head) - 2) + b"\r\n"
m = login()
`+body+`
m.logout()
`)
		if strings.Contains(out, "NO") || strings.Contains(out, "BAD") {
			t.Fatalf("imap: %s", out)
		}
	}
	// 5000 + 7 × 10500 = 78500 octets (78.5 %), then 3000 more: 81.5 %.
	imap(`
print(m.append("INBOX", None, None, msg(5000))[0])
for i in range(7): print(m.append("INBOX", None, None, msg(10500))[0])
`)
	wantNotices(t, n, alice, "78.5 %")
	imap(`print(m.append("INBOX", None, None, msg(3000))[0])`)
	wantNotices(t, n, alice, "APPEND to 81.5 %", 80)

	// A delivery of 8000 octets: about 91 % with the notice, past 80 %
	// before it already.
	if out := quotaMXPy(t, n, fmt.Sprintf("tx([], [%q], 8000)", alice)); out != "rcpt "+alice+" 250 \ndata 250 2.0.0 OK\n" {
		t.Fatalf("delivery: %s", out)
	}
	if disk, _ := maildirOctets(t, n, alice); disk < 90000 || disk >= 95000 {
		t.Fatalf("after the delivery %d octets, want between 90 and 95 %%", disk)
	}
	wantNotices(t, n, alice, "delivery from 83 % to 91 %", 80)

	// COPY of the first message (5000 octets): past 95 %.
	imap(`
print(m.create("Keep")[0])
m.select("INBOX")
print(m.uid("COPY", "1", "Keep")[0])
`)
	wantNotices(t, n, alice, "COPY past 95 %", 80, 95)
	disk, files := maildirOctets(t, n, alice)
	if tracked, tcount := trackedUsage(t, n, alice); tracked != disk || tcount != files {
		t.Fatalf("tracked %d octets in %d messages, on disk %d in %d", tracked, tcount, disk, files)
	}
}

// TestQuotaWarningQuotaLowered: `mailgate user quota` lowering alice's
// quota under her usage (9000 octets delivered, unlimited until then)
// stores one notice, for the highest percentage the new quota puts her
// at or over; setting it again, lifting it, or a quota she is far under
// stores none; lowering it again past 80 % stores one more.
func TestQuotaWarningQuotaLowered(t *testing.T) {
	n := NewNode(t, "", "[mailbox]\nquota_warnings = [80, 95]\n")
	n.AddUser(alice, alicePW)
	n.Start()
	if out := quotaMXPy(t, n, fmt.Sprintf("tx([], [%q], 9000)", alice)); out != "rcpt "+alice+" 250 \ndata 250 2.0.0 OK\n" {
		t.Fatalf("delivery: %s", out)
	}
	disk, _ := maildirOctets(t, n, alice)
	quota := func(size string) {
		t.Helper()
		if out := n.MustCLI("", "user", "quota", alice, size); !strings.HasPrefix(out, alice+"\tquota=") {
			t.Fatalf("user quota %s: %q", size, out)
		}
	}
	// disk/0.9: at 90 %, over 80 % and under 95 %.
	quota(fmt.Sprint(disk * 10 / 9))
	wantNotices(t, n, alice, "unlimited → 90 %", 80)
	quota(fmt.Sprint(disk * 10 / 9))
	quota("unlimited")
	quota("1MiB")
	wantNotices(t, n, alice, "the same quota again, lifted, then far over the usage", 80)
	// A quota of which disk alone is 95 %: with the notice, which
	// counts, she is over 100 %; only the higher warning is told.
	quota(fmt.Sprint(disk * 100 / 95))
	wantNotices(t, n, alice, "1 MiB → over 100 %", 80, 95)
}

// TestQuotaWarningWebmailDraft: drafts saved in webmail (curl) are held
// to taro's 40000 octets and warned of as IMAP APPENDs are. Two drafts
// take him to about 77 %; saving the second again (replacing itself) adds
// nothing, and warns of nothing although the new version, counted before
// the old one is dropped, reaches 80 %; a third draft past 80 % brings
// exactly one notice.
func TestQuotaWarningWebmailDraft(t *testing.T) {
	NeedTool(t, "curl")
	n := webNode(t, "[mailbox]\nquota_warnings = [80, 95]\n")
	const taro = "taro@example.jp"
	n.AddUser(taro, "correct horse")
	n.MustCLI("", "user", "quota", taro, "40000")
	n.Start()
	https := "https://" + n.Addr("https")
	sess := curlLogin(t, https, taro, "correct horse")
	save := func(lines int, replaces string) {
		t.Helper()
		body := strings.Repeat(strings.Repeat("x", 69)+"\n", lines)
		code, resp := curl(t, "-b", sess.jar, "-F", "csrf="+sess.token, "-F", "action=save", "-F", "draft="+replaces,
			"-F", "from="+taro, "-F", "to="+taro, "-F", "subject=draft", "-F", "body="+body, https+"/mail/compose")
		if code != 303 || !strings.Contains(resp, "saved=1") {
			t.Fatalf("save: %d\n%s", code, resp)
		}
	}
	save(394, "") // about 28000 octets
	save(34, "")  // about 2700
	if disk, _ := maildirOctets(t, n, taro); disk < 30000 || disk >= 32000 {
		t.Fatalf("two drafts: %d octets, want 75 to 80 %% of 40000", disk)
	}
	save(34, "2")
	wantNotices(t, n, taro, "the second draft saved again")
	save(34, "")
	wantNotices(t, n, taro, "a third draft past 80 %", 80)
	disk, files := maildirOctets(t, n, taro)
	if tracked, tcount := trackedUsage(t, n, taro); tracked != disk || tcount != files || files != 4 {
		t.Fatalf("tracked %d octets in %d messages, on disk %d in %d; want three drafts and the notice", tracked, tcount, disk, files)
	}
}
