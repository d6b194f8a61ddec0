package delivery

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailgate/internal/config"
	"mailgate/internal/mailbox"
	"mailgate/internal/spool"
)

// quotaMap is a Quotas: account → octets; absent is unlimited.
type quotaMap map[string]int64

func (q quotaMap) MailboxQuota(_ context.Context, acct string) (int64, error) { return q[acct], nil }

// quotaAgent delivers for ours.example with bob held to 100 octets.
func quotaAgent(t *testing.T, full string, scripts scriptMap) *Local {
	a, _ := sieveAgent(t, scripts)
	a.Local.Quotas = quotaMap{"bob@ours.example": 100}
	a.Local.QuotaFull = full
	return a.Local
}

// body60 is a message of exactly 60 octets.
var body60 = []byte("Subject: q\r\n\r\n" + strings.Repeat("x", 44) + "\r\n")

func deliverTo(l *Local, rcpts ...string) *spool.State {
	env := spool.Envelope{ID: "id" + itoa(int(time.Now().UnixNano()%1e9)), From: "x@else.example", To: rcpts, Received: time.Now(), Origin: "mx"}
	st := &spool.State{}
	for _, r := range rcpts {
		st.Rcpts = append(st.Rcpts, spool.RcptState{Addr: r, Status: spool.Pending})
	}
	l.Deliver(spool.InMemory(env, body60), st, true)
	return st
}

// mailOctets sums the sizes of the messages in an account's Maildir, all
// folders: the bytes on disk.
func mailOctets(t *testing.T, root, acct string) (octets int64, n int) {
	t.Helper()
	filepath.Walk(boxDir(t, root, acct), func(p string, fi os.FileInfo, err error) error {
		if sub := filepath.Base(filepath.Dir(p)); err == nil && !fi.IsDir() && (sub == "new" || sub == "cur") {
			octets += fi.Size()
			n++
		}
		return nil
	})
	return octets, n
}

// TestQuotaDefersOrRejectsAFullMailbox: a message that would take bob
// over 100 octets is refused for bob only (alice, unlimited, gets it):
// 452 4.2.2 and left pending with quota_full = defer, 552 5.2.2 and
// failed with reject. Nothing is written into bob's Maildir past 60.
func TestQuotaDefersOrRejectsAFullMailbox(t *testing.T) {
	for _, tc := range []struct{ full, status, reply string }{
		{config.QuotaFullDefer, spool.Pending, "452 4.2.2 Mailbox full"},
		{config.QuotaFullReject, spool.Failed, "552 5.2.2 Mailbox full"},
	} {
		t.Run(tc.full, func(t *testing.T) {
			l := quotaAgent(t, tc.full, nil)
			if st := deliverTo(l, "bob@ours.example"); st.Rcpts[0].Status != spool.Delivered {
				t.Fatalf("first message (60 of 100): %+v", st.Rcpts)
			}
			st := deliverTo(l, "alice@ours.example", "bob@ours.example")
			if st.Rcpts[0].Status != spool.Delivered {
				t.Fatalf("alice: %+v, want delivered", st.Rcpts[0])
			}
			if r := st.Rcpts[1]; r.Status != tc.status || r.Error != tc.reply {
				t.Fatalf("bob: %+v, want %s %q", r, tc.status, tc.reply)
			}
			if octets, n := mailOctets(t, l.MailRoot, "bob@ours.example"); octets != 60 || n != 1 {
				t.Fatalf("bob's Maildir holds %d octets in %d messages, want 60 in 1", octets, n)
			}
			if octets, n := mailOctets(t, l.MailRoot, "alice@ours.example"); octets != 60 || n != 1 {
				t.Fatalf("alice's Maildir holds %d octets in %d messages, want 60 in 1", octets, n)
			}
		})
	}
}

// TestQuotaBeforeAckRefusesASoleRecipient: with delivery before the 250,
// a full mailbox that is the message's only recipient is the DATA reply
// (the sender keeps the message; nothing is stored or queued).
func TestQuotaBeforeAckRefusesASoleRecipient(t *testing.T) {
	l := quotaAgent(t, config.QuotaFullDefer, nil)
	deliverTo(l, "bob@ours.example")
	env := spool.Envelope{ID: "sole", From: "x@else.example", To: []string{"bob@ours.example"}, Received: time.Now(), Origin: "mx"}
	_, refusal := l.DeliverBeforeAck(context.Background(), &env, body60)
	if refusal == nil || refusal.String() != "452 4.2.2 Mailbox full" {
		t.Fatalf("refusal %v, want 452 4.2.2 Mailbox full", refusal)
	}
	if octets, _ := mailOctets(t, l.MailRoot, "bob@ours.example"); octets != 60 {
		t.Fatalf("bob's Maildir holds %d octets, want 60", octets)
	}
}

// TestQuotaCountsEverySieveCopy: fileinto plus keep stores the message
// twice, so 2×60 octets do not fit in 100 and neither copy is stored.
func TestQuotaCountsEverySieveCopy(t *testing.T) {
	l := quotaAgent(t, config.QuotaFullDefer, scriptMap{"bob@ours.example": `require ["fileinto","mailbox"]; fileinto :create "Lists"; keep;`})
	st := deliverTo(l, "bob@ours.example")
	if r := st.Rcpts[0]; r.Status != spool.Pending || r.Error != "452 4.2.2 Mailbox full" {
		t.Fatalf("bob: %+v, want deferred as full", r)
	}
	if octets, n := mailOctets(t, l.MailRoot, "bob@ours.example"); octets != 0 || n != 0 {
		t.Fatalf("bob's Maildir holds %d octets in %d messages, want none", octets, n)
	}
}

// TestRcptFull: RCPT is refused once the mailbox is at its quota, or when
// the announced SIZE would take it over; other recipients are not.
func TestRcptFull(t *testing.T) {
	l := quotaAgent(t, config.QuotaFullDefer, nil)
	ctx := context.Background()
	if r := l.RcptFull(ctx, "bob@ours.example", 0); r != nil {
		t.Fatalf("empty mailbox: %v", r)
	}
	deliverTo(l, "bob@ours.example") // 60 of 100
	for size, want := range map[int64]string{0: "", 40: "", 41: "452 4.2.2 Mailbox full"} {
		got := ""
		if r := l.RcptFull(ctx, "bob@ours.example", size); r != nil {
			got = r.String()
		}
		if got != want {
			t.Errorf("SIZE=%d: %q, want %q", size, got, want)
		}
	}
	// Exactly full: 40 more octets by another program, counted again.
	dir := boxDir(t, l.MailRoot, "bob@ours.example")
	if err := mailbox.Deliver(dir, "fill,S=40", strings.NewReader(strings.Repeat("y", 40))); err != nil {
		t.Fatal(err)
	}
	if r := l.RcptFull(ctx, "bob@ours.example", 0); r == nil || r.String() != "452 4.2.2 Mailbox full" {
		t.Fatalf("at the quota: %v, want 452 4.2.2 Mailbox full", r)
	}
	if r := l.RcptFull(ctx, "alice@ours.example", 1<<30); r != nil {
		t.Fatalf("alice (unlimited): %v", r)
	}
	l.QuotaFull = config.QuotaFullReject
	if r := l.RcptFull(ctx, "bob@ours.example", 0); r == nil || r.String() != "552 5.2.2 Mailbox full" {
		t.Fatalf("reject: %v, want 552 5.2.2 Mailbox full", r)
	}
}
