package abuse

import (
	"context"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"mailgate/internal/edge"
	"mailgate/internal/store"
)

// Pools is our subscriber pools (the edge policy in the store) as the MX
// sees them: read at start, then again whenever the store's edge version
// changes, checked every refresh. A store outage keeps the last pools.
type Pools struct {
	st     *store.Store
	log    *slog.Logger
	policy atomic.Pointer[edge.Policy]
}

// WatchPools reads the pools and keeps them fresh until ctx ends.
func WatchPools(ctx context.Context, st *store.Store, refresh time.Duration, log *slog.Logger) (*Pools, error) {
	p := &Pools{st: st, log: log}
	pol, _, err := edge.Load(ctx, st, nil, nil, time.Now(), log)
	if err != nil {
		return nil, err
	}
	p.policy.Store(pol)
	go p.watch(ctx, refresh)
	return p, nil
}

func (p *Pools) watch(ctx context.Context, refresh time.Duration) {
	tick := time.NewTicker(refresh)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		v, err := p.st.EdgeVersion(ctx)
		if err != nil {
			p.log.Warn("subscriber pools: reading the store's version failed; using the last pools", "err", err)
			continue
		}
		if v == p.policy.Load().Version {
			continue
		}
		pol, _, err := edge.Load(ctx, p.st, nil, nil, time.Now(), p.log)
		if err != nil {
			p.log.Warn("subscriber pools: reading them failed; using the last ones", "err", err)
			continue
		}
		p.policy.Store(pol)
		p.log.Info("subscriber pools reloaded", "version", v)
	}
}

// Pool names the pool (dynamic or static) whose longest prefix holds ip.
func (p *Pools) Pool(ip netip.Addr) (string, bool) {
	name, _, _, ok := p.policy.Load().Lookup(ip)
	return name, ok
}
