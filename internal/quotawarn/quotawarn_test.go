package quotawarn

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailgate/internal/mailbox"
)

func TestCrossedByUsage(t *testing.T) {
	w := []int{80, 95}
	for _, c := range []struct {
		limit, before, after int64
		want                 int
	}{
		{1000, 700, 799, 0},
		{1000, 700, 800, 80}, // reaching 80 % is crossing it
		{1000, 800, 900, 0},  // already past 80 before
		{1000, 799, 960, 95}, // past both at once: the highest only
		{1000, 950, 1200, 0}, // over 95 already
		{1000, 0, 0, 0},      // nothing added
		{0, 0, 1 << 40, 0},   // unlimited
		{1001, 800, 800, 0},  // 80 % of 1001 is 800.8: 801 is needed
		{1001, 800, 801, 80}, // ...and enough
		{1 << 62, 0, 1 << 62, 95},
	} {
		if got := Crossed(w, c.limit, c.before, c.limit, c.after); got != c.want {
			t.Errorf("%d→%d of %d: %d, want %d", c.before, c.after, c.limit, got, c.want)
		}
	}
}

// TestMessage: the notice's header and both languages' text.
func TestMessage(t *testing.T) {
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	m := string(Message("postmaster@mx.ours.example", "bob@ours.example", "mx.ours.example", 95, mailbox.Usage{Bytes: 996148, Messages: 12}, 1<<20, now))
	head, body, ok := strings.Cut(m, "\r\n\r\n")
	if !ok {
		t.Fatal("no header/body break")
	}
	for _, want := range []string{
		"From: postmaster@mx.ours.example", "To: bob@ours.example", "Date: Wed, 02 Dec 2026 09:00:00 +0000",
		"Auto-Submitted: auto-generated", "Content-Type: text/plain; charset=UTF-8", "Message-ID: <",
	} {
		if !strings.Contains(head, want+"") {
			t.Errorf("header lacks %q:\n%s", want, head)
		}
	}
	for _, want := range []string{
		"メールボックスの使用量が容量制限の 95% を超えました。\r\n使用量: 972.8 KB / 1.0 MB（12 通）",
		"不要なメールを削除し、「ごみ箱」を空にしてください。",
		"Your mailbox is over 95% of its storage limit.\r\nUsed: 972.8 KB of 1.0 MB (12 messages)",
		"Please delete mail you no longer need and empty the Trash",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(strings.ReplaceAll(m, "\r\n", ""), "\n") {
		t.Error("a bare LF in the message")
	}
}

// TestCrossedByQuotaChange: a quota lowered (or set where there was none)
// under a usage that did not move crosses the thresholds of the new quota
// the usage is at or over and was under for the old one.
func TestCrossedByQuotaChange(t *testing.T) {
	w := []int{80, 95}
	for _, c := range []struct {
		oldLimit, used, newLimit int64
		want                     int
	}{
		{0, 900, 1000, 80},    // none before: 90 % of the new one
		{2000, 900, 1000, 80}, // 45 % → 90 %
		{2000, 960, 1000, 95}, // 48 % → 96 %: the highest only
		{1000, 900, 900, 95},  // 90 % → 100 %: 80 was told already
		{1000, 900, 950, 0},   // 90 % → 94.7 %: nothing new crossed
		{2000, 1960, 1000, 0}, // 98 % → 196 %: both told already
		{1000, 900, 2000, 0},  // raised
		{1000, 900, 0, 0},     // lifted
		{2000, 500, 1000, 0},  // 25 % → 50 %
		{0, 0, 1000, 0},       // an empty mailbox
	} {
		if got := Crossed(w, c.oldLimit, c.used, c.newLimit, c.used); got != c.want {
			t.Errorf("%d octets, quota %d→%d: %d, want %d", c.used, c.oldLimit, c.newLimit, got, c.want)
		}
	}
}

// notices is the names of the quota warnings in dir's INBOX.
func notices(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "new", "*quota-*"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestQuotaChanged: lowering bob's quota under his 900 octets stores one
// notice with the usage and the new quota; raising it, or setting the
// same, stores none; a Maildir that is not there is not created.
func TestQuotaChanged(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bob")
	if err := mailbox.EnsureDefaults(dir); err != nil {
		t.Fatal(err)
	}
	body := "Subject: s\r\n\r\n" + strings.Repeat("x", 900-len("Subject: s\r\n\r\n"))
	if err := mailbox.DeliverNew(dir, "1.M1P1.test,S=900", strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	w := &Warner{Percents: []int{80, 95}, Hostname: "mx.ours.example", Log: slog.New(slog.DiscardHandler)}
	w.QuotaChanged("bob@ours.example", dir, 0, 2000) // 45 %
	w.QuotaChanged("bob@ours.example", dir, 2000, 1000)
	got := notices(t, dir)
	if len(got) != 1 || !strings.Contains(got[0], "quota-80") {
		t.Fatalf("notices after 45 %% → 90 %%: %q, want one for 80 %%", got)
	}
	b, _ := os.ReadFile(got[0])
	if want := "Used: 900 B of 1000 B (1 messages)"; !strings.Contains(string(b), want) {
		t.Fatalf("notice lacks %q:\n%s", want, b)
	}
	w.QuotaChanged("bob@ours.example", dir, 1000, 1000)
	w.QuotaChanged("bob@ours.example", dir, 1000, 1050) // raised
	if got := notices(t, dir); len(got) != 1 {
		t.Fatalf("notices after raising: %q, want the first only", got)
	}
	gone := filepath.Join(t.TempDir(), "carol")
	w.QuotaChanged("carol@ours.example", gone, 0, 1)
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Fatalf("a Maildir not on this node: %v, want none made", err)
	}
	if n := LocksHeld(); n != 0 {
		t.Fatalf("%d warning locks left", n)
	}
}
