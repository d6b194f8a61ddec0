package edge

import (
	"fmt"
	"net/netip"

	"github.com/gaissmai/bart"

	"mailgate/internal/store"
)

// Overlap is one finding of `mailgate pool check`.
type Overlap struct {
	Inner, Outer store.PoolPrefix
	Effect       string
}

// CheckOverlaps reports every prefix that lies inside another pool
// prefix, and how longest-prefix match resolves it.
func CheckOverlaps(ps []store.PoolPrefix) []Overlap {
	t := new(bart.Table[int])
	for i, p := range ps {
		t.Insert(p.Prefix, i)
	}
	var out []Overlap
	for _, inner := range ps {
		// the nearest enclosing prefix is the one that matters for LPM
		var outer *store.PoolPrefix
		for sup, i := range t.Supernets(inner.Prefix) {
			if sup == inner.Prefix {
				continue
			}
			outer = &ps[i]
			break // Supernets yields the longest first
		}
		if outer == nil {
			continue
		}
		var effect string
		switch {
		case inner.Kind == store.PoolStatic && outer.Kind == store.PoolDynamic:
			effect = "static inside dynamic: not filtered (longest prefix wins)"
		case inner.Kind == store.PoolDynamic && outer.Kind == store.PoolStatic:
			effect = "dynamic inside static: filtered (longest prefix wins)"
		case inner.Pool == outer.Pool:
			effect = "redundant: already covered by the same pool"
		default:
			effect = fmt.Sprintf("same kind (%s) in another pool: reports name pool %s", inner.Kind, inner.Pool)
		}
		out = append(out, Overlap{Inner: inner, Outer: *outer, Effect: effect})
	}
	return out
}

// Lookup returns the pool prefix an address falls in by LPM.
func (p *Policy) Lookup(a netip.Addr) (pool string, prefix netip.Prefix, dynamic bool, ok bool) {
	pi, ok := p.poolTable().Lookup(a.Unmap())
	if !ok {
		return "", netip.Prefix{}, false, false
	}
	e := p.poolInfo[pi]
	return e.Pool, e.Prefix, e.Dynamic, true
}

// Listed reports whether a is in our dynamic space as the DNSBL answers
// it and the feed publishes it (see ListedSpace): the pool and the pool
// prefix it falls in.
func (p *Policy) Listed(a netip.Addr) (pool string, prefix netip.Prefix, ok bool) {
	p.buildListed()
	i, found := p.listedLPM.Lookup(a.Unmap())
	if !found {
		return "", netip.Prefix{}, false
	}
	l := p.listed[i]
	return l.Pool, l.PoolPrefix, true
}
