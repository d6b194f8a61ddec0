package delivery

import (
	"bytes"
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailgate/internal/config"
	"mailgate/internal/mailbox"
	"mailgate/internal/quotawarn"
	"mailgate/internal/spool"
)

// warnAgent delivers for ours.example with bob held to 100000 octets and
// warnings at 80 and 95 %.
func warnAgent(t *testing.T) *Local {
	a, _ := sieveAgent(t, nil)
	a.Local.Quotas = quotaMap{"bob@ours.example": 100000}
	a.Local.QuotaFull = config.QuotaFullDefer
	a.Local.QuotaWarner = &quotawarn.Warner{Percents: []int{80, 95}, Hostname: a.Local.Hostname, Log: a.Local.Log}
	return a.Local
}

var sizedSeq atomic.Int64

// deliverSized delivers one message of exactly size octets to rcpt.
func deliverSized(t *testing.T, l *Local, rcpt string, size int) string {
	t.Helper()
	body := []byte("Subject: s\r\n\r\n" + strings.Repeat("x", size-len("Subject: s\r\n\r\n")))
	env := spool.Envelope{ID: "w" + itoa(int(sizedSeq.Add(1))), From: "x@else.example", To: []string{rcpt}, Received: time.Now(), Origin: "mx", Size: int64(size)}
	st := &spool.State{Rcpts: []spool.RcptState{{Addr: rcpt, Status: spool.Pending}}}
	l.Deliver(spool.InMemory(env, body), st, true)
	return st.Rcpts[0].Status
}

// notices returns the quota warnings in an account's INBOX (their
// Subject decoded).
func notices(t *testing.T, l *Local, acct string) []string {
	t.Helper()
	var out []string
	files, _ := filepath.Glob(filepath.Join(boxDir(t, l.MailRoot, acct), "new", "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("Auto-Submitted: auto-generated")) {
			continue
		}
		for _, line := range strings.Split(string(b), "\r\n") {
			if s, ok := strings.CutPrefix(line, "Subject: "); ok {
				d, err := new(mime.WordDecoder).DecodeHeader(s)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, d)
			}
		}
	}
	return out
}

// TestQuotaWarnings: one notice when a delivery takes bob past 80 %, none
// while he stays past it, one more past 95 %; after he deleted mail below
// 80 % the next crossing warns again. The notices are in INBOX although
// they take bob over his quota.
func TestQuotaWarnings(t *testing.T) {
	l := warnAgent(t)
	const bob = "bob@ours.example"
	for i := 0; i < 7; i++ {
		if s := deliverSized(t, l, bob, 10000); s != spool.Delivered {
			t.Fatalf("message %d: %s", i, s)
		}
	}
	if n := notices(t, l, bob); len(n) != 0 {
		t.Fatalf("at 70 %%: %q", n)
	}
	deliverSized(t, l, bob, 10000) // 80000: 80 %
	want80 := "メールボックスの容量が 80% を超えました / Your mailbox is over 80% full"
	if n := notices(t, l, bob); len(n) != 1 || n[0] != want80 {
		t.Fatalf("at 80 %%: %q", n)
	}
	deliverSized(t, l, bob, 5000) // under 95 % with the notice
	if n := notices(t, l, bob); len(n) != 1 {
		t.Fatalf("still past 80 %%: %q", n)
	}
	dir := boxDir(t, l.MailRoot, bob)
	for deliverSized(t, l, bob, 5000) == spool.Delivered && len(notices(t, l, bob)) == 1 {
	}
	want95 := "メールボックスの容量が 95% を超えました / Your mailbox is over 95% full"
	if n := notices(t, l, bob); len(n) != 2 || !slices.Contains(n, want80) || !slices.Contains(n, want95) {
		t.Fatalf("past 95 %%: %q", n)
	}
	u, _ := mailbox.AccountUsage(dir)
	if octets, _ := mailOctets(t, l.MailRoot, bob); u.Bytes != octets || u.Bytes < 95000 {
		t.Fatalf("usage %+v, on disk %d", u, octets)
	}

	// Bob deletes the mail (not the notices): down to the notices alone.
	files, _ := filepath.Glob(filepath.Join(dir, "new", "*"))
	for _, f := range files {
		if b, _ := os.ReadFile(f); !bytes.Contains(b, []byte("Auto-Submitted")) {
			os.Remove(f)
		}
	}
	if _, err := mailbox.Recalculate(dir); err != nil {
		t.Fatal(err)
	}
	// 9000 octets at a time, up to 80 % (the notices count too) and on
	// until 95 % is in reach: one more 80 % notice, no more.
	for i := 0; i < 9; i++ {
		deliverSized(t, l, bob, 9000)
	}
	if u, _ := mailbox.AccountUsage(dir); u.Bytes < 80000 || u.Bytes >= 95000 {
		t.Fatalf("usage %+v: the test wants 80..95 %% here", u)
	}
	if n := notices(t, l, bob); len(n) != 3 || len(slices.DeleteFunc(slices.Clone(n), func(s string) bool { return s != want80 })) != 2 {
		t.Fatalf("past 80 %% again: %q", n)
	}
}

// TestQuotaWarningPastAFullMailbox: a delivery that fills the mailbox to
// the octet gets its warning stored, past the quota.
func TestQuotaWarningPastAFullMailbox(t *testing.T) {
	l := warnAgent(t)
	l.QuotaWarner.Percents = []int{100}
	const bob = "bob@ours.example"
	if s := deliverSized(t, l, bob, 100000); s != spool.Delivered {
		t.Fatalf("a message the size of the quota: %s", s)
	}
	if n := notices(t, l, bob); len(n) != 1 {
		t.Fatalf("notices: %q", n)
	}
	if u, _ := mailbox.AccountUsage(boxDir(t, l.MailRoot, bob)); u.Bytes <= 100000 || u.Messages != 2 {
		t.Fatalf("usage %+v: the notice is not counted past the quota", u)
	}
	if s := deliverSized(t, l, bob, 20); s != spool.Pending {
		t.Fatalf("the next message: %s, want deferred", s)
	}
}

// TestQuotaWarningConcurrentDeliveries: deliveries running at once past
// 80 % bring one notice, not one per delivery that saw the total.
func TestQuotaWarningConcurrentDeliveries(t *testing.T) {
	l := warnAgent(t)
	const bob = "bob@ours.example"
	for i := 0; i < 7; i++ {
		deliverSized(t, l, bob, 10000)
	}
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deliverSized(t, l, bob, 1500)
		}()
	}
	wg.Wait()
	if n := notices(t, l, bob); len(n) != 1 {
		t.Fatalf("70 %% to 85 %% in 10 deliveries at once: %d notices, want 1: %q", len(n), n)
	}
}

// TestQuotaWarningNotForACopyAlreadyThere: an attempt cut short after
// storing its copy, retried, adds nothing and warns of nothing, although
// the usage it reads is past the warning.
func TestQuotaWarningNotForACopyAlreadyThere(t *testing.T) {
	l := warnAgent(t)
	const bob = "bob@ours.example"
	deliverSized(t, l, bob, 75000)
	body := []byte("Subject: s\r\n\r\n" + strings.Repeat("x", 10000-len("Subject: s\r\n\r\n")))
	env := spool.Envelope{ID: "retried", From: "x@else.example", To: []string{bob}, Received: time.Now(), Origin: "mx", Size: 10000}
	warner := l.QuotaWarner
	l.QuotaWarner = nil // the first attempt: stored, then the crash
	l.Deliver(spool.InMemory(env, body), &spool.State{Rcpts: []spool.RcptState{{Addr: bob, Status: spool.Pending}}}, true)
	l.QuotaWarner = warner
	st := &spool.State{Rcpts: []spool.RcptState{{Addr: bob, Status: spool.Pending}}}
	l.Deliver(spool.InMemory(env, body), st, false)
	if st.Rcpts[0].Status != spool.Delivered {
		t.Fatalf("retry: %s", st.Rcpts[0].Status)
	}
	if n := notices(t, l, bob); len(n) != 0 {
		t.Fatalf("notices: %q, want none: the retry stored nothing", n)
	}
	if u, _ := mailbox.AccountUsage(boxDir(t, l.MailRoot, bob)); u.Bytes != 85000 || u.Messages != 2 {
		t.Fatalf("usage %+v, want 85000 octets in 2 messages", u)
	}
}

// TestQuotaWarningLocksLeaveNothingBehind: the per-account warning lock
// goes with the delivery that held it; deliveries to many accounts leave
// no entry behind.
func TestQuotaWarningLocksLeaveNothingBehind(t *testing.T) {
	l := warnAgent(t)
	quotas := quotaMap{}
	for i := range 50 {
		quotas[fmt.Sprintf("u%d@ours.example", i)] = 100000
	}
	l.Quotas = quotas
	var wg sync.WaitGroup
	for acct := range quotas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				if s := deliverSized(t, l, acct, 30000); s != spool.Delivered {
					t.Errorf("%s: %s", acct, s)
				}
			}
		}()
	}
	wg.Wait()
	if n := len(notices(t, l, "u7@ours.example")); n != 1 {
		t.Fatalf("u7 went to 90 %%: %d notices, want 1", n)
	}
	if n := quotawarn.LocksHeld(); n != 0 {
		t.Fatalf("after deliveries to %d accounts: %d warning locks left, want none", len(quotas), n)
	}
}
