package node

import (
	"context"
	"log/slog"
	"time"

	"mailgate/internal/config"
	"mailgate/internal/metrics"
	"mailgate/internal/spool"
	"mailgate/internal/store"
)

// statsWriter adds what this node's counters (metrics.Totals) grew by
// since its last write, and the queue's size, to the store's hourly
// buckets every [web] chart_interval, for the console's charts. A failed
// write is retried with the next one: the growth is kept until written.
type statsWriter struct {
	st    *store.Store
	sp    *spool.Spool
	node  string
	log   *slog.Logger
	wrote map[string]int64 // the totals last written
}

func writeStats(ctx context.Context, cfg *config.Config, st *store.Store, sp *spool.Spool, log *slog.Logger) {
	w := &statsWriter{st: st, sp: sp, node: cfg.FleetNode(), log: log, wrote: map[string]int64{}}
	t := time.NewTicker(cfg.Web.ChartInterval)
	defer t.Stop()
	prune := time.Now()
	for {
		select {
		case <-ctx.Done():
			// The last counts of a node shutting down.
			flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			w.write(flush)
			cancel()
			return
		case <-t.C:
		}
		w.write(ctx)
		if time.Since(prune) >= time.Hour {
			prune = time.Now()
			if _, err := st.PruneNodeStats(ctx); err != nil && ctx.Err() == nil {
				log.Warn("pruning node stats failed", "err", err)
			}
			// The rate windows (the web probe's, [srs] bounce_rate's)
			// are at most an hour long (config.Rate): two hours back
			// no window is current. Pruned here, on every node, web
			// server or not.
			if _, err := st.PruneRateWindows(ctx, time.Now().Add(-2*time.Hour)); err != nil && ctx.Err() == nil {
				log.Warn("pruning rate windows failed", "err", err)
			}
		}
	}
}

func (w *statsWriter) write(ctx context.Context) {
	now := metrics.Totals()
	var samples []store.StatSample
	for series, v := range now {
		if d := v - w.wrote[series]; d > 0 {
			samples = append(samples, store.StatSample{Series: series, Value: d})
		}
	}
	if ids, err := w.sp.IDs(); err == nil {
		samples = append(samples, store.StatSample{Series: store.StatQueue, Value: int64(len(ids)), Peak: true})
	}
	if err := w.st.RecordNodeStats(ctx, w.node, time.Time{}, samples); err != nil {
		if ctx.Err() == nil {
			w.log.Warn("writing node stats failed (kept for the next try)", "err", err)
		}
		return
	}
	w.wrote = now
}
