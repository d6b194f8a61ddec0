package edge

import (
	"context"
	"log/slog"
	"time"

	"mailgate/internal/store"
)

// Load reads the store, resolves carrier domains (keeping prev answers
// for domains that fail) and compiles the policy in force at `at`.
func Load(ctx context.Context, st *store.Store, r Resolver, prev map[string][]MXHost, at time.Time, log *slog.Logger) (*Policy, map[string][]MXHost, error) {
	snap, err := st.EdgeSnapshot(ctx)
	if err != nil {
		return nil, prev, err
	}
	mx := prev
	if r != nil {
		var errs []error
		mx, errs = ResolveCarriers(ctx, r, snap.Carriers, prev)
		// A one-shot command (check, render), or the runner's first
		// load, has no earlier answers to keep.
		what := "carrier resolution failed; keeping the previous addresses"
		if prev == nil {
			what = "carrier resolution failed; the domain's mail hosts are not in the policy (there is no earlier answer to keep)"
		}
		for _, e := range errs {
			if log != nil {
				log.Warn(what, "err", e)
			}
		}
	}
	return Compile(snap, mx, at), mx, nil
}

// Runner keeps the kernel in step with the store and the schedule: it
// polls the store's edge version, recompiles at scheduled changes and
// exemption expiries, re-resolves carrier MX hosts, and re-applies (a
// no-op when nothing differs, which also repairs a table someone
// deleted). It only ever touches table inet op25b.
type Runner struct {
	Store    *store.Store
	Resolver Resolver
	Interval time.Duration // poll period
	Resolve  time.Duration // carrier re-resolution period
	Window   time.Duration
	// CacheDir keeps the last applied elements (see Apply); Verify is how
	// often the kernel's sets are read back in full anyway.
	CacheDir string
	Verify   time.Duration
	// Router names this edge in the store's attempt records; empty: the
	// kernel's counts are not recorded. RecordEvery is how often they are
	// copied; Retention how long a silent source stays in the store.
	Router      string
	RecordEvery time.Duration
	Retention   time.Duration
	Log         *slog.Logger
	// Applied, when set, is called after every successful apply.
	Applied func(*Policy, Change)
}

// Run loops until ctx ends.
func (r *Runner) Run(ctx context.Context) error {
	if r.Interval <= 0 {
		r.Interval = 5 * time.Second
	}
	if r.Resolve <= 0 {
		r.Resolve = time.Hour
	}
	if r.Verify <= 0 {
		r.Verify = 10 * time.Minute
	}
	if r.RecordEvery <= 0 {
		r.RecordEvery = time.Minute
	}
	if r.Retention <= 0 {
		r.Retention = 30 * 24 * time.Hour
	}
	var verified, recorded, pruned time.Time
	var (
		pol *Policy
		// rs is pol's kernel view, kept while pol is: its Digest hashes
		// every element once, not at every tick.
		rs       *Ruleset
		mx       map[string][]MXHost
		resolved time.Time
		version  int64 = -1
	)
	tick := time.NewTicker(r.Interval)
	defer tick.Stop()
	for {
		now := time.Now()
		v, err := r.Store.EdgeVersion(ctx)
		if err != nil {
			r.Log.Error("edge: read store version", "err", err)
		} else {
			due := pol == nil || v != version || (!pol.NextChange().IsZero() && !now.Before(pol.NextChange()))
			var res Resolver
			if now.Sub(resolved) >= r.Resolve {
				res, due = r.Resolver, true
			}
			if due {
				p, m, err := Load(ctx, r.Store, res, mx, now, r.Log)
				if err != nil {
					r.Log.Error("edge: load policy", "err", err)
				} else {
					pol, mx, version = p, m, p.Version
					rs = pol.Ruleset(r.Window)
					if res != nil {
						resolved = now
					}
				}
			}
		}
		if pol != nil {
			verify := now.Sub(verified) >= r.Verify
			ch, err := Apply(ctx, rs, r.CacheDir, verify)
			if err == nil && verify {
				verified = now
			}
			switch {
			case err != nil:
				r.Log.Error("edge: apply", "err", err)
			case !ch.Empty():
				r.Log.Info("edge: applied", "change", ch.String(), "scope", pol.Scope, "action", pol.Action, "version", pol.Version)
			}
			if err == nil && r.Applied != nil {
				r.Applied(pol, ch)
			}
		}
		if pol != nil && r.Router != "" && now.Sub(recorded) >= r.RecordEvery {
			recorded = now
			if err := r.record(ctx, pol, now); err != nil {
				r.Log.Error("edge: record attempts", "err", err)
			}
			if now.Sub(pruned) >= time.Hour {
				pruned = now
				if _, err := r.Store.PruneAttempts(ctx, now.Add(-r.Retention)); err != nil {
					r.Log.Error("edge: prune attempts", "err", err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// record copies the kernel's attempt counts into the store.
func (r *Runner) record(ctx context.Context, pol *Policy, now time.Time) error {
	as, err := ReadAttempts(pol, now)
	if err != nil || len(as) == 0 {
		return err
	}
	recs := make([]store.AttemptRecord, len(as))
	for i, a := range as {
		recs[i] = store.AttemptRecord{Source: a.Source, Pool: a.Pool, Attempts: a.Count, Destinations: a.Destinations, FirstSeen: a.FirstSeen, LastSeen: a.LastSeen}
	}
	return r.Store.RecordAttempts(ctx, r.Router, recs)
}
