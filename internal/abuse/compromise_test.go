package abuse

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mailgate/internal/scan"
	"mailgate/internal/spool"
	"mailgate/internal/store"
)

// signalStore is an in-memory CompromiseStore for the signals' arithmetic:
// sums by kind, split at a day ago (the current window and the days
// before).
type signalStore struct {
	mu               sync.Mutex
	recorded         int
	usage            int
	recent, earlier  map[string]int
	suspended        []string
	audits           []string
	alreadySuspended bool
}

func (s *signalStore) SendUsage(context.Context, string) (int, int, error) { return s.usage, 0, nil }
func (s *signalStore) RecordAccountEvent(context.Context, string, string, int, string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recorded++
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
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.alreadySuspended {
		return false, nil
	}
	s.suspended = append(s.suspended, signal+": "+detail)
	return true, nil
}
func (s *signalStore) Resolve(context.Context, string) (string, error) { return "", store.ErrNotFound }
func (s *signalStore) Audit(_ context.Context, _, action, _, detail string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.audits = append(s.audits, action+" "+detail)
	return nil
}

func testMonitor(t *testing.T, st *signalStore, mode string) *Monitor {
	sp, err := spool.Open(filepath.Join(t.TempDir(), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sp.Close)
	m := &Monitor{Store: st, Spool: sp, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Policy: CompromisePolicy{Mode: mode, BaselineFactor: 10, BaselineDays: 7, BaselineMin: 200,
			RefusedShare: 0.5, RefusedMin: 20, Virus: true, LoginSources: 5, LoginWindow: time.Hour, Hostname: "mail.isp.example"}}
	// Cleanups run last-first: the responses (notices written into the
	// spool) finish before the spool closes and its directory is removed,
	// which otherwise failed now and then with "directory not empty".
	t.Cleanup(m.Wait)
	return m
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

// waitSuspended waits for the asynchronous signals to suspend.
func (s *signalStore) waitSuspended(t *testing.T) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s.mu.Lock()
		if len(s.suspended) > 0 {
			defer s.mu.Unlock()
			return s.suspended[0]
		}
		s.mu.Unlock()
	}
	t.Fatal("no suspension")
	return ""
}

// A virus, or a spam score at the limit, in a submission fires, accepted
// or refused.
func TestContentSignals(t *testing.T) {
	st := &signalStore{}
	m := testMonitor(t, st, CompromiseEnforce)
	m.Submitted("a@isp.example", 1, false, map[string]any{scan.NoteVirus: &scan.VirusFound{Engine: "clamd", Name: "Eicar-Signature"}})
	if got := st.waitSuspended(t); got != "virus: virus Eicar-Signature found by clamd in its outgoing mail" {
		t.Fatalf("virus: %q", got)
	}
	st = &signalStore{}
	m = testMonitor(t, st, CompromiseEnforce)
	m.Policy.SpamScore = 15
	m.Submitted("a@isp.example", 1, true, map[string]any{scan.NoteSpam: &scan.Spam{Score: 15}})
	if got := st.waitSuspended(t); got != "spam: outgoing message scored 15.0 as spam (limit 15.0)" {
		t.Fatalf("spam: %q", got)
	}
}

// Logins from login_sources networks fire; one network logging in again
// within the window costs no store write.
func TestLoginSourcesSignal(t *testing.T) {
	st := &signalStore{recent: map[string]int{store.EventLogin: 5}}
	m := testMonitor(t, st, CompromiseEnforce)
	m.LoggedIn("a@isp.example", netip.MustParseAddr("192.0.2.1"))
	if got := st.waitSuspended(t); got != "logins: logged in from 5 networks within 1h0m0s (limit 5)" {
		t.Fatalf("logins: %q", got)
	}
	m.LoggedIn("a@isp.example", netip.MustParseAddr("192.0.2.200")) // the same /24
	m.LoggedIn("a@isp.example", netip.MustParseAddr("192.0.2.1"))
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.recorded != 1 {
		t.Fatalf("%d logins recorded, want 1", st.recorded)
	}
}
