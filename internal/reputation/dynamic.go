package reputation

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"github.com/gaissmai/bart"

	"mailgate/internal/edge"
	"mailgate/internal/store"
)

// Ranges are the dynamic (end-user) ranges of other ISPs, from their
// imported feeds, in a longest-prefix-match table (bart, as the edge's
// policy uses).
type Ranges struct {
	table *bart.Table[string] // prefix -> list name
}

// NewRanges builds the table. A prefix in two lists answers with one.
func NewRanges(ps []store.ReputationPrefix) *Ranges {
	r := &Ranges{table: new(bart.Table[string])}
	for _, p := range ps {
		r.table.Insert(p.Prefix, p.List)
	}
	return r
}

// Lookup returns the list and prefix holding ip.
func (r *Ranges) Lookup(ip netip.Addr) (list string, prefix netip.Prefix, ok bool) {
	if r == nil {
		return "", netip.Prefix{}, false
	}
	ip = ip.Unmap()
	prefix, list, ok = r.table.LookupPrefixLPM(netip.PrefixFrom(ip, ip.BitLen()))
	return list, prefix, ok
}

// spaces keeps the imported ranges and our own edge policy in step with
// the store: it asks the store's two version numbers at most every
// recheck and reloads only what changed (or a policy whose exemptions
// expired).
type spaces struct {
	st      *store.Store
	recheck time.Duration

	mu      sync.Mutex
	checked time.Time
	repVer  string
	edgeVer int64
	ranges  *Ranges
	policy  *edge.Policy
}

func (s *spaces) get(ctx context.Context) (*Ranges, *edge.Policy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if !s.checked.IsZero() && now.Sub(s.checked) < s.recheck {
		return s.ranges, s.policy, nil
	}
	// Set before reading: a store that fails is asked again after
	// recheck, not by every session queued behind the lock.
	s.checked = now
	repVer, err := s.st.ReputationVersion(ctx)
	if err != nil {
		return s.ranges, s.policy, err
	}
	if s.ranges == nil || repVer != s.repVer {
		ps, err := s.st.ReputationPrefixes(ctx)
		if err != nil {
			return s.ranges, s.policy, err
		}
		s.ranges, s.repVer = NewRanges(ps), repVer
	}
	edgeVer, err := s.st.EdgeVersion(ctx)
	if err != nil {
		return s.ranges, s.policy, err
	}
	stale := s.policy == nil || edgeVer != s.edgeVer
	if !stale {
		next := s.policy.NextChange() // an exemption expires, a scope starts
		stale = !next.IsZero() && !now.Before(next)
	}
	if stale {
		snap, err := s.st.EdgeSnapshot(ctx)
		if err != nil {
			return s.ranges, s.policy, err
		}
		// Carrier domains do not matter here: Listed reads pools and
		// exemptions only.
		s.policy, s.edgeVer = edge.Compile(snap, nil, now), snap.Version
	}
	return s.ranges, s.policy, nil
}
