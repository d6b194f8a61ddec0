package edge

import (
	"net/netip"
	"slices"
	"time"

	"github.com/gaissmai/bart"
)

// ListedPrefix is one piece of our published dynamic space: a prefix
// wholly inside one dynamic pool prefix, with no static hole and no
// exemption in it.
type ListedPrefix struct {
	Prefix     netip.Prefix
	Pool       string
	PoolPrefix netip.Prefix // the dynamic pool prefix it was cut from
	Added      time.Time    // when that pool prefix was added
}

// ListedSpace is the address space we publish as dynamic, in both the
// DNSBL (Listed) and the feed (Feed): addresses whose longest matching
// pool prefix is dynamic, minus exemptions. A static pool inside a dynamic
// one (fixed-IP customers) and an exempted prefix are holes, so a receiver
// using either never treats those customers as dynamic. One computation
// serves both, so they cannot disagree.
func (p *Policy) ListedSpace() []ListedPrefix {
	p.buildListed()
	return slices.Clone(p.listed)
}

func (p *Policy) buildListed() {
	p.listedOnce.Do(func() {
		p.listed = listedSpace(p.poolInfo, append(slices.Clone(p.Exempt4), p.Exempt6...))
		p.listedLPM = new(bart.Table[int32])
		for i, l := range p.listed {
			p.listedLPM.Insert(l.Prefix, int32(i))
		}
	})
}

// listedSpace cuts, from each dynamic pool prefix, every pool prefix
// inside it (a more specific prefix wins by longest match: a static one is
// a hole, a dynamic one is listed under its own pool) and every exempted
// range, and returns what is left as prefixes, in address order.
func listedSpace(pools []poolEntry, exempt []Range) []ListedPrefix {
	sorted := slices.Clone(pools)
	for i := range sorted {
		sorted[i].Prefix = sorted[i].Prefix.Masked()
	}
	slices.SortStableFunc(sorted, func(a, b poolEntry) int {
		if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
			return c
		}
		return a.Prefix.Bits() - b.Prefix.Bits()
	})
	var out []ListedPrefix
	for i, e := range sorted {
		if !e.Dynamic || (i > 0 && sorted[i-1].Prefix == e.Prefix) {
			continue // duplicates: the store forbids them; keep the first
		}
		var cuts []Range
		// Prefixes inside e follow it in this order, contiguously.
		for _, in := range sorted[i+1:] {
			if !e.Prefix.Contains(in.Prefix.Addr()) {
				break
			}
			if in.Prefix != e.Prefix {
				cuts = append(cuts, PrefixRange(in.Prefix))
			}
		}
		whole := PrefixRange(e.Prefix)
		for _, x := range exempt {
			if sameFamily(x.From, whole.From) && x.From.Compare(whole.To) <= 0 && x.To.Compare(whole.From) >= 0 {
				cuts = append(cuts, x)
			}
		}
		for _, r := range subtract(whole, cuts) {
			for _, c := range r.CIDRs() {
				out = append(out, ListedPrefix{Prefix: c, Pool: e.Pool, PoolPrefix: e.Prefix, Added: e.Added})
			}
		}
	}
	slices.SortFunc(out, func(a, b ListedPrefix) int { return a.Prefix.Addr().Compare(b.Prefix.Addr()) })
	return out
}

// subtract returns what is left of r once every cut (ranges of r's family,
// in any order, overlapping or not) is taken out.
func subtract(r Range, cuts []Range) []Range {
	slices.SortFunc(cuts, func(a, b Range) int { return a.From.Compare(b.From) })
	var out []Range
	pos := r.From
	for _, c := range cuts {
		if c.To.Compare(pos) < 0 {
			continue
		}
		if c.From.Compare(r.To) > 0 {
			break
		}
		if c.From.Compare(pos) > 0 {
			out = append(out, Range{pos, c.From.Prev()})
		}
		if c.To.Compare(r.To) >= 0 {
			return out
		}
		pos = c.To.Next()
	}
	return append(out, Range{pos, r.To})
}
