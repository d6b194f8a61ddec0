package node

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"mailgate/internal/metrics"
	"mailgate/internal/spool"
	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

// TestStatsWriterAddsGrowthOnce: each write adds only what the counters
// grew by since the last successful one, a failed write keeps the growth
// for the next, and the queue's size is written as the bucket's peak.
func TestStatsWriterAddsGrowthOnce(t *testing.T) {
	st := storetest.SQLite(t)
	sp, err := spool.Open(filepath.Join(t.TempDir(), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	w := &statsWriter{st: st, sp: sp, node: "node-a", log: slog.Default(), wrote: metrics.Totals()}
	ctx := context.Background()
	since := time.Now().Add(-time.Hour)
	inMX := func() int64 {
		t.Helper()
		series, err := st.StatSeries(ctx, since)
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for _, p := range series["in.mx"] {
			n += p.Value
		}
		return n
	}
	metrics.Messages.WithLabelValues("mx", "accepted").Add(3)
	w.write(ctx)
	w.write(ctx) // nothing new
	if n := inMX(); n != 3 {
		t.Fatalf("in.mx = %d after two writes of a growth of 3", n)
	}
	metrics.Messages.WithLabelValues("mx", "accepted").Add(2)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	w.write(cancelled) // fails: the growth waits
	w.write(ctx)
	if n := inMX(); n != 5 {
		t.Fatalf("in.mx = %d after a failed then a good write, want 5", n)
	}
	env := &spool.Envelope{ID: spool.NewID(), From: "a@example.jp", To: []string{"b@remote.example"}, Received: time.Now()}
	if err := sp.Put(env, []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	w.write(ctx)
	sp.Remove(env.ID)
	w.write(ctx)
	series, _ := st.StatSeries(ctx, since)
	// The hour may turn between the writes: the peak is in one bucket.
	var peak int64
	for _, p := range series[store.StatQueue] {
		peak = max(peak, p.Value)
	}
	if peak != 1 {
		t.Fatalf("queue = %v, want a peak of 1", series[store.StatQueue])
	}
}
