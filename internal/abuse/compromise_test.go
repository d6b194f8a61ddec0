package abuse

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"mailgate/internal/store"
)

// signalStore is an in-memory CompromiseStore for the signals' arithmetic:
// sums by kind, split at a day ago (the current window and the days
// before).
type signalStore struct {
	usage            int
	recent, earlier  map[string]int
	suspended        []string
	audits           []string
	alreadySuspended bool
}

func (s *signalStore) SendUsage(context.Context, string) (int, int, error) { return s.usage, 0, nil }
func (s *signalStore) RecordAccountEvent(context.Context, string, string, int, string) error {
	return nil
}
func (s *signalStore) AccountEvents(_ context.Context, _, kind string, from, _ time.Time) (int, error) {
	if time.Since(from) > store.SendWindow+time.Minute {
		return s.earlier[kind], nil
	}
	return s.recent[kind], nil
}
func (s *signalStore) AccountEventDetails(context.Context, string, string, time.Time) (int, error) {
	return s.recent[store.EventLogin], nil
}
func (s *signalStore) PruneAccountEvents(context.Context, time.Duration) error { return nil }
func (s *signalStore) SuspendCompromised(_ context.Context, _, account, signal, detail string) (bool, error) {
	if s.alreadySuspended {
		return false, nil
	}
	s.suspended = append(s.suspended, signal+": "+detail)
	return true, nil
}
func (s *signalStore) Resolve(context.Context, string) (string, error) { return "", store.ErrNotFound }
func (s *signalStore) Audit(_ context.Context, _, action, _, detail string) error {
	s.audits = append(s.audits, action+" "+detail)
	return nil
}

func testMonitor(t *testing.T, st *signalStore, mode string) *Monitor {
	return &Monitor{Store: st, MailRoot: t.TempDir(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Policy: CompromisePolicy{Mode: mode, BaselineFactor: 10, BaselineDays: 7, BaselineMin: 200,
			RefusedShare: 0.5, RefusedMin: 20, Virus: true, LoginSources: 5, LoginWindow: time.Hour, Hostname: "mail.isp.example"}}
}

// Sending far above the account's own average fires; a busy account
// sending its usual amount, or anyone under the floor, does not.
func TestBaselineSignal(t *testing.T) {
	for _, c := range []struct {
		usage, before int
		fires         bool
	}{
		{250, 7 * 20, true},  // 250 against 20 a day
		{250, 0, true},       // a new account past the floor
		{199, 0, false},      // under baseline_min
		{250, 7 * 30, false}, // 250 is under 10 x 30
		{5000, 7 * 600, false},
	} {
		st := &signalStore{usage: c.usage, earlier: map[string]int{store.EventSent: c.before}}
		testMonitor(t, st, CompromiseEnforce).checkBaseline(context.Background(), "a@isp.example")
		if fired := len(st.suspended) == 1; fired != c.fires {
			t.Errorf("usage %d, %d over 7 days before: fired %v %v, want %v", c.usage, c.before, fired, st.suspended, c.fires)
		}
	}
}

// A high share of remote recipients refused fires once enough were.
func TestRefusedSignal(t *testing.T) {
	for _, c := range []struct {
		refused, delivered int
		fires              bool
	}{
		{20, 20, true}, {20, 21, false}, {19, 0, false}, {100, 10, true},
	} {
		st := &signalStore{recent: map[string]int{store.EventRefused: c.refused, store.EventDelivered: c.delivered}}
		testMonitor(t, st, CompromiseEnforce).checkRefused(context.Background(), "a@isp.example")
		if fired := len(st.suspended) == 1; fired != c.fires {
			t.Errorf("%d refused, %d delivered: fired %v, want %v", c.refused, c.delivered, fired, c.fires)
		}
	}
}

// Report mode audits what it would have done, once a day per account and
// signal, and suspends nothing; enforcing, a second signal on an account
// already suspended does nothing more.
func TestReportModeAndOnce(t *testing.T) {
	st := &signalStore{}
	m := testMonitor(t, st, CompromiseReport)
	m.respond(context.Background(), "a@isp.example", SignalVirus, "EICAR")
	m.respond(context.Background(), "a@isp.example", SignalVirus, "EICAR")
	if len(st.suspended) != 0 || len(st.audits) != 1 || !strings.HasPrefix(st.audits[0], "abuse.compromise.report virus: EICAR (report only") {
		t.Fatalf("report mode: suspended %v, audits %v", st.suspended, st.audits)
	}
	st = &signalStore{alreadySuspended: true}
	testMonitor(t, st, CompromiseEnforce).respond(context.Background(), "a@isp.example", SignalVirus, "EICAR")
	if len(st.audits) != 0 {
		t.Fatalf("already suspended, yet: %v", st.audits)
	}
	st = &signalStore{}
	testMonitor(t, st, CompromiseEnforce).respond(context.Background(), "a@isp.example", SignalVirus, "EICAR")
	if len(st.suspended) != 1 || len(st.audits) < 2 || st.audits[0] != "abuse.compromise.hold 0 queued messages held" {
		t.Fatalf("enforce: suspended %v, audits %v", st.suspended, st.audits)
	}
}
