package store_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

func sendAccount(t *testing.T, s *store.Store) string {
	ctx := context.Background()
	must(t, s.AddDomain(ctx, "test", "isp.example"))
	must(t, s.AddAccount(ctx, "test", "carol@isp.example", "h"))
	return "carol@isp.example"
}

// TestSendLimitsRollingWindow: recipients and messages count over the 24
// hours ending now; the refusal names the limit and the moment the oldest
// usage leaves the window; released reservations do not count.
func TestSendLimitsRollingWindow(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acct := sendAccount(t, s)
		t0 := time.Unix(1_800_000_000, 0)
		now := t0
		store.SetClock(s, func() time.Time { return now })
		lim := store.SendLimits{RecipientsPerDay: 3, MessagesPerDay: 2}

		if _, err := s.ReserveSend(ctx, acct, 1, 1, lim); err != nil {
			t.Fatal(err)
		}
		now = t0.Add(time.Hour)
		if _, err := s.ReserveSend(ctx, acct, 1, 0, lim); err != nil {
			t.Fatal(err)
		}
		abandoned, err := s.ReserveSend(ctx, acct, 1, 1, lim)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.ReserveSend(ctx, acct, 1, 0, lim)
		var over *store.OverLimitError
		if !errors.As(err, &over) || over.Limit != "recipients" || over.Max != 3 || !over.FreesAt.Equal(t0.Add(store.SendWindow)) {
			t.Fatalf("4th recipient: %v, want the recipients limit freeing at %v", err, t0.Add(store.SendWindow))
		}
		must(t, s.ReleaseSend(ctx, abandoned))
		if r, m, err := s.SendUsage(ctx, acct); err != nil || r != 2 || m != 1 {
			t.Fatalf("usage after release = %d recipients, %d messages, %v; want 2, 1", r, m, err)
		}
		if _, err := s.ReserveSend(ctx, acct, 1, 1, lim); err != nil {
			t.Fatalf("after release: %v", err)
		}
		_, err = s.ReserveSend(ctx, acct, 0, 1, lim)
		if !errors.As(err, &over) || over.Limit != "messages" || over.Max != 2 {
			t.Fatalf("3rd message: %v, want the messages limit", err)
		}
		// A day after the first message, it no longer counts.
		now = t0.Add(store.SendWindow + time.Second)
		if _, err := s.ReserveSend(ctx, acct, 1, 1, lim); err != nil {
			t.Fatalf("after the window moved: %v", err)
		}
		if r, m, _ := s.SendUsage(ctx, acct); r != 3 || m != 2 {
			t.Fatalf("usage = %d, %d; want 3, 2", r, m)
		}
	})
}

// TestSendLimitOverride: an account's own limit replaces the default, 0 is
// unlimited, clearing it restores the default; an unknown account or a
// negative limit is refused.
func TestSendLimitOverride(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acct := sendAccount(t, s)
		def := store.SendLimits{RecipientsPerDay: 1}
		two, zero := 2, 0
		must(t, s.SetLimitOverride(ctx, "test", acct, store.LimitOverride{RecipientsPerDay: &two}))
		for i := range 2 {
			if _, err := s.ReserveSend(ctx, acct, 1, 1, def); err != nil {
				t.Fatalf("recipient %d under an override of 2: %v", i+1, err)
			}
		}
		if _, err := s.ReserveSend(ctx, acct, 1, 1, def); err == nil {
			t.Fatal("3rd recipient passed an override of 2")
		}
		must(t, s.SetLimitOverride(ctx, "test", acct, store.LimitOverride{RecipientsPerDay: &zero}))
		if _, err := s.ReserveSend(ctx, acct, 100, 1, def); err != nil {
			t.Fatalf("unlimited override: %v", err)
		}
		must(t, s.SetLimitOverride(ctx, "test", acct, store.LimitOverride{}))
		if o, err := s.LimitOverride(ctx, acct); err != nil || o.RecipientsPerDay != nil || o.MessagesPerDay != nil {
			t.Fatalf("cleared override = %+v, %v", o, err)
		}
		if err := s.SetLimitOverride(ctx, "test", "nobody@isp.example", store.LimitOverride{RecipientsPerDay: &two}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown account: %v", err)
		}
		minus := -1
		if err := s.SetLimitOverride(ctx, "test", acct, store.LimitOverride{MessagesPerDay: &minus}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("negative limit: %v", err)
		}
		// Removing the account removes its override with it.
		must(t, s.RemoveAccount(ctx, "test", acct))
	})
}

// TestSendLimitsExactUnderConcurrency: twenty sessions of one account
// reserving at once against a limit of 50 get exactly 50 recipients.
func TestSendLimitsExactUnderConcurrency(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acct := sendAccount(t, s)
		lim := store.SendLimits{RecipientsPerDay: 50}
		var ok, refused atomic.Int64
		var wg sync.WaitGroup
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 5 {
					_, err := s.ReserveSend(ctx, acct, 1, 0, lim)
					var over *store.OverLimitError
					switch {
					case err == nil:
						ok.Add(1)
					case errors.As(err, &over):
						refused.Add(1)
					default:
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 50 || refused.Load() != 50 {
			t.Fatalf("accepted %d, refused %d; want exactly 50 and 50", ok.Load(), refused.Load())
		}
	})
}

// BenchmarkReserveSend is the send counter's cost per message of one
// remote recipient (a reservation: lock, window sum, insert), beside a bare
// audit-table insert on the same database as the floor any durable write
// costs there.
func BenchmarkReserveSend(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			var s *store.Store
			if backend == "sqlite" {
				s = storetest.SQLite(b)
			} else {
				s = storetest.Postgres(b)
			}
			ctx := context.Background()
			if err := s.AddDomain(ctx, "bench", "isp.example"); err != nil {
				b.Fatal(err)
			}
			for i := range 100 {
				if err := s.AddAccount(ctx, "bench", fmt.Sprintf("u%d@isp.example", i), "h"); err != nil {
					b.Fatal(err)
				}
			}
			lim := store.SendLimits{RecipientsPerDay: 1 << 30, MessagesPerDay: 1 << 30}
			b.Run("reserve", func(b *testing.B) {
				i := 0
				for b.Loop() {
					if _, err := s.ReserveSend(ctx, fmt.Sprintf("u%d@isp.example", i%100), 1, 1, lim); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
			// Twenty sessions reserving at once, as twenty submission
			// clients do: on SQLite they share commits (reserveBatches).
			b.Run("reserve-20-sessions", func(b *testing.B) {
				var n atomic.Int64
				b.SetParallelism(max(1, 20/runtime.GOMAXPROCS(0)))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						i := n.Add(1)
						if _, err := s.ReserveSend(ctx, fmt.Sprintf("u%d@isp.example", i%100), 1, 1, lim); err != nil {
							b.Error(err)
							return
						}
					}
				})
			})
			b.Run("audit-insert", func(b *testing.B) {
				for b.Loop() {
					if err := s.SetStatus(ctx, "bench", "u0@isp.example", store.StatusActive, "bench"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
