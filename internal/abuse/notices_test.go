package abuse

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailgate/internal/spool"
	"mailgate/internal/store"
)

type fakeNotices struct {
	recs    []store.AttemptRecord
	holders map[string]string // source -> subscriber
	links   map[string]string // subscriber -> account
	last    map[string]*store.Notice
}

func (f *fakeNotices) AttemptsReport(context.Context, int) ([]store.AttemptRecord, error) {
	return f.recs, nil
}
func (f *fakeNotices) SubscriberAt(_ context.Context, ip netip.Addr, _ time.Time) (*store.SubscriberSession, error) {
	u, ok := f.holders[ip.String()]
	if !ok {
		return nil, fmt.Errorf("nobody: %w", store.ErrNotFound)
	}
	return &store.SubscriberSession{Username: u, Account: f.links[u]}, nil
}
func (f *fakeNotices) LastNotice(_ context.Context, u string) (*store.Notice, error) {
	if n := f.last[u]; n != nil {
		return n, nil
	}
	return nil, fmt.Errorf("none: %w", store.ErrNotFound)
}
func (f *fakeNotices) RecordNotice(_ context.Context, _ string, n store.Notice) error {
	f.last[n.Username] = &n
	return nil
}

// TestPlanNoticesGrades: attempts add up per subscriber across their
// sources; below the threshold nothing; a first notice, then nothing until
// the reminder period has passed and attempts went on, then grade 2; a
// subscriber without a linked account is listed and skipped; an
// unattributed source is left out.
func TestPlanNoticesGrades(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	rec := func(ip string, n uint64, last time.Time) store.AttemptRecord {
		return store.AttemptRecord{Source: netip.MustParseAddr(ip), Attempts: n, FirstSeen: t0, LastSeen: last}
	}
	f := &fakeNotices{
		recs:    []store.AttemptRecord{rec("10.0.0.1", 6, t0), rec("2001:db8::1", 5, t0), rec("10.0.0.2", 50, t0), rec("10.0.0.3", 9, t0), rec("10.0.0.9", 99, t0)},
		holders: map[string]string{"10.0.0.1": "a", "2001:db8::1": "a", "10.0.0.2": "b", "10.0.0.3": "c"},
		links:   map[string]string{"a": "a@isp.example"},
		last:    map[string]*store.Notice{},
	}
	p := NoticePolicy{Threshold: 10, ReminderAfter: 7 * 24 * time.Hour, From: "postmaster@isp.example", Hostname: "mail.isp.example"}
	sp, err := spool.Open(filepath.Join(t.TempDir(), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	plan := func(now time.Time) string {
		cases, err := PlanNotices(context.Background(), f, p, now)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range cases {
			out = append(out, fmt.Sprintf("%s:%d:%d:%s", c.Subscriber, c.Attempts, c.Grade, c.Skip))
		}
		if err := SendNotices(context.Background(), f, p, sp, "test", cases, now, false); err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, " ")
	}
	if got, want := plan(t0.Add(time.Hour)), "b:50:1:no mail account linked (mailgate subscriber link b ACCOUNT) a:11:1:"; got != want {
		t.Fatalf("first run: %q\nwant        %q", got, want)
	}
	ids, _ := sp.IDs()
	if len(ids) != 1 {
		t.Fatalf("queued %v, want the one notice", ids)
	}
	if m, err := sp.Open(ids[0]); err != nil || m.Envelope.From != "" || strings.Join(m.Envelope.To, ",") != "a@isp.example" || m.Envelope.Origin != "notice" {
		t.Fatalf("queued notice %+v, %v", m, err)
	} else {
		m.Close()
	}
	if got := plan(t0.Add(2 * time.Hour)); !strings.Contains(got, "a:11:1:no blocked attempt since the notice of") {
		t.Fatalf("no new attempts: %q", got)
	}
	f.recs[0].LastSeen = t0.Add(3 * time.Hour)
	if got := plan(t0.Add(4 * time.Hour)); !strings.Contains(got, "a:11:1:next reminder due ") {
		t.Fatalf("within the reminder period: %q", got)
	}
	if got := plan(t0.Add(8 * 24 * time.Hour)); !strings.Contains(got, "a:11:2:") || strings.Contains(got, "a:11:2:n") {
		t.Fatalf("after the reminder period: %q", got)
	}
}

// TestComposeNotice: a reminder says so in its RFC 2047 subject; the body
// is the operator's template when given.
func TestComposeNotice(t *testing.T) {
	p := NoticePolicy{From: "postmaster@isp.example", Hostname: "mail.isp.example"}
	b, err := p.Compose(&NoticeCase{Subscriber: "s", Account: "a@isp.example", Grade: 2, Attempts: 7}, time.Unix(1_800_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	msg := string(b)
	if !strings.Contains(msg, "Subject: =?UTF-8?b?44CQ5YaN6YCa55+lIDHj") || !strings.Contains(msg, "Auto-Submitted: auto-generated\r\n") || strings.Contains(strings.ReplaceAll(msg, "\r\n", ""), "\n") {
		t.Fatalf("notice:\n%s", msg)
	}
}
