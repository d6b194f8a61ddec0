package store_test

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

// TestNodeStatsSumOverFleet: counters add up per bucket and over the
// nodes, gauges keep the bucket's peak per node (summed over nodes),
// blocked edge attempts land in their series, old buckets are pruned.
func TestNodeStatsSumOverFleet(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Unix(1_800_000_000, 0).Truncate(time.Hour).Add(10 * time.Minute)
		store.SetClock(s, func() time.Time { return now })
		h0, h1 := now.Truncate(time.Hour), now.Truncate(time.Hour).Add(time.Hour)
		rec := func(node string, at time.Time, smp ...store.StatSample) {
			t.Helper()
			if err := s.RecordNodeStats(ctx, node, at, smp); err != nil {
				t.Fatal(err)
			}
		}
		rec("a", now, store.StatSample{Series: "in.mx", Value: 3}, store.StatSample{Series: "queue", Value: 5, Peak: true})
		rec("a", now.Add(time.Minute), store.StatSample{Series: "in.mx", Value: 2}, store.StatSample{Series: "queue", Value: 2, Peak: true})
		rec("b", now, store.StatSample{Series: "in.mx", Value: 10}, store.StatSample{Series: "queue", Value: 1, Peak: true})
		rec("a", h1, store.StatSample{Series: "in.mx", Value: 1}, store.StatSample{Series: "out.delivered", Value: 0})
		if err := s.RecordNodeStats(ctx, "a", now, []store.StatSample{{Series: "bad series", Value: 1}}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("a series with a space: %v, want ErrInvalid", err)
		}
		// The edge router's growth: 4 new, then the same episode at 6.
		src := netip.MustParseAddr("192.0.2.9")
		for _, n := range []uint64{4, 6, 6} {
			if err := s.RecordAttempts(ctx, "edge1", []store.AttemptRecord{{Source: src, Pool: "dyn", Attempts: n, FirstSeen: now, LastSeen: now}}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.StatSeries(ctx, h0)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]store.StatPoint{
			"in.mx":               {{h0, 15}, {h1, 1}},
			"queue":               {{h0, 6}},
			store.StatEdgeBlocked: {{h0, 6}},
		}
		if len(got) != len(want) {
			t.Fatalf("StatSeries = %v, want %v (a zero counter is not written)", got, want)
		}
		for series, pts := range want {
			if g := got[series]; len(g) != len(pts) || !equalPoints(g, pts) {
				t.Errorf("%s = %v, want %v", series, g, pts)
			}
		}
		if later, _ := s.StatSeries(ctx, h1); len(later["in.mx"]) != 1 || len(later["queue"]) != 0 {
			t.Errorf("StatSeries since %v = %v", h1, later)
		}
		now = now.Add(store.StatsKeep + time.Hour)
		if n, err := s.PruneNodeStats(ctx); err != nil || n != 5 {
			t.Fatalf("PruneNodeStats = %d, %v; want 5 rows of the first hour", n, err)
		}
		if left, _ := s.StatSeries(ctx, h0); len(left) != 1 || len(left["in.mx"]) != 1 {
			t.Fatalf("after pruning: %v", left)
		}
	})
}

func equalPoints(a, b []store.StatPoint) bool {
	for i := range a {
		if !a[i].Bucket.Equal(b[i].Bucket) || a[i].Value != b[i].Value {
			return false
		}
	}
	return true
}

// TestTakeRateSharedWindow: concurrent takers (as nodes of a fleet are)
// get exactly max events through per window; the next window starts from
// zero; counters are independent; old windows are pruned.
func TestTakeRateSharedWindow(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Unix(1_800_000_000, 0).Truncate(time.Hour)
		var mu sync.Mutex
		store.SetClock(s, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
		var wg sync.WaitGroup
		var ok, refused sync.Map
		for i := range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				allowed, err := s.TakeRate(ctx, "probe:192.0.2.0/24", time.Hour, 5)
				if err != nil {
					t.Error(err)
				} else if allowed {
					ok.Store(i, true)
				} else {
					refused.Store(i, true)
				}
			}()
		}
		wg.Wait()
		count := func(m *sync.Map) (n int) { m.Range(func(any, any) bool { n++; return true }); return }
		if count(&ok) != 5 || count(&refused) != 7 {
			t.Fatalf("12 concurrent takes with max 5: %d allowed, %d refused", count(&ok), count(&refused))
		}
		if allowed, err := s.TakeRate(ctx, "probe:198.51.100.0/24", time.Hour, 5); err != nil || !allowed {
			t.Fatalf("another counter: %v, %v", allowed, err)
		}
		mu.Lock()
		now = now.Add(59 * time.Minute)
		mu.Unlock()
		if allowed, _ := s.TakeRate(ctx, "probe:192.0.2.0/24", time.Hour, 5); allowed {
			t.Fatal("allowed within the same window")
		}
		mu.Lock()
		now = now.Add(time.Minute)
		mu.Unlock()
		if allowed, err := s.TakeRate(ctx, "probe:192.0.2.0/24", time.Hour, 5); err != nil || !allowed {
			t.Fatalf("a new window: %v, %v", allowed, err)
		}
		if _, err := s.TakeRate(ctx, "", time.Hour, 5); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("empty counter: %v", err)
		}
		if n, err := s.PruneRateWindows(ctx, now); err != nil || n != 1 {
			t.Fatalf("PruneRateWindows = %d, %v; want the other counter's old window", n, err)
		}
	})
}
