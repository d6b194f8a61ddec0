package store_test

import (
	"context"
	"testing"
	"time"

	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

// Issue 11 §3: the response's suspension is made once, lifted by a
// password change; an operator's status replaces it, and a password
// change then leaves the operator's status alone.
func TestCompromiseSuspensionAndPasswordChange(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acct := sendAccount(t, s)
		status := func(want string) {
			t.Helper()
			a, err := s.Account(ctx, acct)
			if err != nil || a.Status != want {
				t.Fatalf("status %v, %v; want %s", a, err, want)
			}
		}
		for i, want := range []bool{true, false} {
			made, err := s.SuspendCompromised(ctx, "abuse:compromise", acct, "refused", "3 of 3 refused")
			if err != nil || made != want {
				t.Fatalf("suspension %d: made %v, %v; want %v", i, made, err, want)
			}
		}
		status(store.StatusSendingDisabled)
		must(t, s.SetPassword(ctx, "cli:op", acct, "new-hash"))
		status(store.StatusActive)
		c, err := s.CompromiseOf(ctx, acct)
		if err != nil || c.Signal != "refused" || c.LiftedBy != "password change" || c.LiftedAt.IsZero() {
			t.Fatalf("response record: %+v, %v", c, err)
		}
		log, _ := s.AuditLog(ctx, 3)
		if log[0].Action != "user.passwd" || log[1].Action != "abuse.compromise.lifted" || log[2].Action != "abuse.compromise" {
			t.Fatalf("audit: %+v", log)
		}
		// Suspended by the response, then by the operator: the operator's
		// stands through a password change.
		if made, _ := s.SuspendCompromised(ctx, "abuse:compromise", acct, "virus", "EICAR"); !made {
			t.Fatal("second suspension not made")
		}
		must(t, s.SetStatus(ctx, "cli:op", acct, store.StatusSendingDisabled, "spam complaints"))
		must(t, s.SetPassword(ctx, "cli:op", acct, "newer-hash"))
		status(store.StatusSendingDisabled)
		// An operator's suspension is never taken over by the response.
		if made, _ := s.SuspendCompromised(ctx, "abuse:compromise", acct, "virus", "EICAR"); made {
			t.Fatal("the response overwrote an operator's suspension")
		}
	})
}

func TestAccountEvents(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t0 := time.Unix(1_800_000_000, 0)
		now := t0
		store.SetClock(s, func() time.Time { return now })
		must(t, s.RecordAccountEvent(ctx, "a@isp.example", store.EventSent, 5, ""))
		must(t, s.RecordAccountEvent(ctx, "a@isp.example", store.EventLogin, 1, "192.0.2.0/24"))
		now = t0.Add(time.Hour)
		must(t, s.RecordAccountEvent(ctx, "a@isp.example", store.EventSent, 7, ""))
		must(t, s.RecordAccountEvent(ctx, "b@isp.example", store.EventSent, 100, ""))
		must(t, s.RecordAccountEvent(ctx, "a@isp.example", store.EventLogin, 1, "198.51.100.0/24"))
		must(t, s.RecordAccountEvent(ctx, "a@isp.example", store.EventLogin, 1, "192.0.2.0/24"))
		if n, err := s.AccountEvents(ctx, "a@isp.example", store.EventSent, t0, now.Add(time.Second)); err != nil || n != 12 {
			t.Fatalf("sent: %d, %v; want 12", n, err)
		}
		if n, _ := s.AccountEvents(ctx, "a@isp.example", store.EventSent, t0.Add(time.Minute), now.Add(time.Second)); n != 7 {
			t.Fatalf("sent in the last hour: %d; want 7", n)
		}
		if n, _ := s.AccountEventDetails(ctx, "a@isp.example", store.EventLogin, t0); n != 2 {
			t.Fatalf("networks: %d; want 2", n)
		}
		must(t, s.PruneAccountEvents(ctx, 30*time.Minute))
		if n, _ := s.AccountEvents(ctx, "a@isp.example", store.EventSent, t0, now.Add(time.Second)); n != 7 {
			t.Fatalf("after pruning: %d; want 7", n)
		}
	})
}
