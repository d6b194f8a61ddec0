package e2e

import (
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// quotaNotices returns the quota warnings in an account's INBOX, oldest
// first: the decoded Subject, the body, and the file's size.
type quotaNotice struct {
	Subject, Body string
	Size          int64
}

func quotaNotices(t *testing.T, n *Node, account string) []quotaNotice {
	t.Helper()
	at := strings.LastIndexByte(account, '@')
	// new/ as stored; cur/ once an IMAP session saw it.
	files, _ := filepath.Glob(filepath.Join(n.Dir, "mail", account[at+1:], account[:at], "new", "*"))
	seen, _ := filepath.Glob(filepath.Join(n.Dir, "mail", account[at+1:], account[:at], "cur", "*"))
	files = append(files, seen...)
	sortByDeliveryTime(files) // oldest first, across new/ and cur/
	var out []quotaNotice
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		head, body, _ := strings.Cut(string(b), "\r\n\r\n")
		if !strings.Contains(head, "\r\nAuto-Submitted: auto-generated\r\n") || !strings.HasPrefix(head, "From: postmaster@") {
			continue
		}
		var subject string
		for _, line := range strings.Split(head, "\r\n") {
			if s, ok := strings.CutPrefix(line, "Subject: "); ok {
				if subject, err = new(mime.WordDecoder).DecodeHeader(s); err != nil {
					t.Fatal(err)
				}
			}
		}
		out = append(out, quotaNotice{subject, body, int64(len(b))})
	}
	return out
}

// TestQuotaWarningMX: with [mailbox] quota_warnings = [80, 95], messages
// delivered one by one over SMTP (smtplib) take alice's mailbox (100 KiB)
// past 80 %: exactly one notice is then in her INBOX, in Japanese and
// English, with her usage in octets as on disk; more mail adds none until
// usage passes 95 %, when exactly one more comes. The usage file still
// equals the bytes on disk.
func TestQuotaWarningMX(t *testing.T) {
	n := NewNode(t, "", "[mailbox]\nquota_warnings = [80, 95]\n")
	n.AddUser(alice, alicePW)
	n.MustCLI("", "user", "quota", alice, "100KiB")
	n.Start()
	const limit = 100 << 10
	send := func(size int) {
		t.Helper()
		out := quotaMXPy(t, n, fmt.Sprintf("tx([], [%q], %d)", alice, size))
		if want := "rcpt " + alice + " 250 \ndata 250 2.0.0 OK\n"; out != want {
			t.Fatalf("sending %d octets:\n%s\nwant:\n%s", size, out, want)
		}
	}
	// until sends messages of size until a notice more than the want-1
	// already there comes, checking each delivery's usage on the way:
	// the one that brought it took usage from under pct to pct or more.
	// It returns the notices and the octets and messages the notice
	// reports (what the disk held before it was stored).
	until := func(want, pct, size int) ([]quotaNotice, int64, int) {
		t.Helper()
		for {
			before, _ := maildirOctets(t, n, alice)
			send(size)
			got := quotaNotices(t, n, alice)
			if len(got) < want {
				continue
			}
			disk, files := maildirOctets(t, n, alice)
			used := disk - got[len(got)-1].Size
			if len(got) != want || before*100 >= int64(pct)*limit || used*100 < int64(pct)*limit {
				t.Fatalf("%d notices after %d→%d octets, want %d when crossing %d %%", len(got), before, used, want, pct)
			}
			return got, used, files - 1
		}
	}
	text := func(pct int, used int64, count int) (ja, en string) {
		return fmt.Sprintf("メールボックスの使用量が容量制限の %d%% を超えました。\r\n使用量: %.1f KB / 100.0 KB（%d 通）\r\n", pct, float64(used)/1024, count),
			fmt.Sprintf("Your mailbox is over %d%% of its storage limit.\r\nUsed: %.1f KB of 100.0 KB (%d messages)\r\n", pct, float64(used)/1024, count)
	}

	got, used, count := until(1, 80, 10000)
	ja, en := text(80, used, count)
	if got[0].Subject != "メールボックスの容量が 80% を超えました / Your mailbox is over 80% full" ||
		!strings.Contains(got[0].Body, ja) || !strings.Contains(got[0].Body, en) ||
		!strings.Contains(got[0].Body, "不要なメールを削除し、「ごみ箱」を空にしてください。") ||
		!strings.Contains(got[0].Body, "Please delete mail you no longer need and empty the Trash") {
		t.Fatalf("the 80 %% notice: %q\n%s\nwant:\n%s\n%s", got[0].Subject, got[0].Body, ja, en)
	}
	got, used, count = until(2, 95, 3000)
	ja, en = text(95, used, count)
	if got[1].Subject != "メールボックスの容量が 95% を超えました / Your mailbox is over 95% full" || !strings.Contains(got[1].Body, ja) || !strings.Contains(got[1].Body, en) {
		t.Fatalf("the 95 %% notice: %q\n%s\nwant:\n%s\n%s", got[1].Subject, got[1].Body, ja, en)
	}
	disk, files := maildirOctets(t, n, alice)
	if tracked, tcount := trackedUsage(t, n, alice); tracked != disk || tcount != files {
		t.Fatalf("tracked %d octets in %d messages, on disk %d in %d", tracked, tcount, disk, files)
	}
}
