// Package edge is mailgate's OP25B edge: it compiles the store's policy
// (pools, exemptions, relays, carrier sets, scope schedule, action) into a
// longest-prefix-match decision table and into an nftables ruleset, applies
// that ruleset atomically, reads the kernel's attempt counters, and
// publishes our dynamic ranges (feed, DNSBL).
//
// RFC 5068 §3.2 and RFC 8314: access providers may block outbound port 25
// from hosts that are not MTAs but must never block 587 or 465, so
// nothing here ever matches any port but TCP 25.
package edge

import (
	"net/netip"
	"slices"
)

// Range is an inclusive span of addresses of one family. nftables interval
// sets hold ranges, so the policy is reduced to ranges before rendering.
type Range struct {
	From, To netip.Addr
}

// String is the nftables element form: an address, a prefix, or a-b.
func (r Range) String() string {
	if r.From == r.To {
		return r.From.String()
	}
	if p, ok := r.Prefix(); ok {
		return p.String()
	}
	return r.From.String() + "-" + r.To.String()
}

// Prefix reports whether the range is exactly one prefix.
func (r Range) Prefix() (netip.Prefix, bool) {
	for b := 0; b <= r.From.BitLen(); b++ {
		p := netip.PrefixFrom(r.From, b)
		if p.Masked().Addr() == r.From && lastAddr(p) == r.To {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// CIDRs splits the range into the fewest prefixes (for ipset hash:net).
func (r Range) CIDRs() []netip.Prefix {
	var out []netip.Prefix
	from := r.From
	for {
		var best netip.Prefix
		for b := 0; b <= from.BitLen(); b++ {
			p := netip.PrefixFrom(from, b)
			if p.Masked().Addr() == from && lastAddr(p).Compare(r.To) <= 0 {
				best = p
				break
			}
		}
		out = append(out, best)
		last := lastAddr(best)
		if last == r.To {
			return out
		}
		from = last.Next()
	}
}

// PrefixRange is the range a prefix covers.
func PrefixRange(p netip.Prefix) Range {
	p = p.Masked()
	return Range{p.Addr(), lastAddr(p)}
}

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr()
	if a.Is4() {
		b := a.As4()
		for i := p.Bits(); i < 32; i++ {
			b[i/8] |= 1 << (7 - i%8)
		}
		return netip.AddrFrom4(b)
	}
	b := a.As16()
	for i := p.Bits(); i < 128; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	return netip.AddrFrom16(b)
}

// Union merges prefixes into sorted, disjoint, non-adjacent ranges, split
// by family.
func Union(ps []netip.Prefix) (v4, v6 []Range) {
	rs := make([]Range, 0, len(ps))
	for _, p := range ps {
		rs = append(rs, PrefixRange(p))
	}
	return mergeRanges(rs)
}

func mergeRanges(rs []Range) (v4, v6 []Range) {
	slices.SortFunc(rs, func(a, b Range) int { return a.From.Compare(b.From) })
	out := make([]Range, 0, len(rs))
	for _, r := range rs {
		if n := len(out); n > 0 && sameFamily(out[n-1].To, r.From) {
			last := &out[n-1]
			next := last.To.Next()
			if r.From.Compare(last.To) <= 0 || (next.IsValid() && next == r.From) {
				if r.To.Compare(last.To) > 0 {
					last.To = r.To
				}
				continue
			}
		}
		out = append(out, r)
	}
	// IPv4 sorts before IPv6: split at the first IPv6 range.
	i, _ := slices.BinarySearchFunc(out, true, func(r Range, _ bool) int {
		if r.From.Is4() {
			return -1
		}
		return 1
	})
	return out[:i:i], out[i:]
}

func sameFamily(a, b netip.Addr) bool { return a.Is4() == b.Is4() }

// Labeled is a prefix with a flag saying whether addresses whose longest
// match it is are selected (dynamic) or not (static).
type Labeled struct {
	Prefix   netip.Prefix
	Selected bool
}

// SelectedRanges returns, as merged ranges, the addresses whose longest
// matching prefix is selected. This is how a static prefix inside a
// dynamic one carves a hole out of the kernel's dynamic set: nftables sets
// have no LPM across sets, so the LPM is resolved here.
func SelectedRanges(ls []Labeled) (v4, v6 []Range) {
	sorted := slices.Clone(ls)
	for i := range sorted {
		sorted[i].Prefix = sorted[i].Prefix.Masked()
	}
	slices.SortFunc(sorted, func(a, b Labeled) int {
		if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
			return c
		}
		return a.Prefix.Bits() - b.Prefix.Bits()
	})
	type open struct {
		end      netip.Addr
		selected bool
	}
	out := make([]Range, 0, len(sorted))
	var (
		stack []open
		pos   netip.Addr // first address not yet emitted under the stack's top
		done  bool       // pos ran past the family's last address
	)
	emit := func(from, to netip.Addr, selected bool) {
		if selected {
			out = append(out, Range{from, to})
		}
	}
	closeUntil := func(limit netip.Addr, all bool) {
		for len(stack) > 0 {
			top := stack[len(stack)-1]
			if !all && sameFamily(top.end, limit) && top.end.Compare(limit) >= 0 {
				return // limit lies inside top: keep it open
			}
			stack = stack[:len(stack)-1]
			if !done && pos.Compare(top.end) <= 0 {
				emit(pos, top.end, top.selected)
				pos = top.end.Next()
				done = !pos.IsValid()
			}
		}
	}
	for i, l := range sorted {
		start := l.Prefix.Addr()
		if i > 0 && sorted[i-1].Prefix == l.Prefix {
			continue // duplicates: the store forbids them; keep the first
		}
		closeUntil(start, false)
		if n := len(stack); n > 0 && !done && pos.Compare(start) < 0 {
			emit(pos, start.Prev(), stack[n-1].selected)
		}
		pos, done = start, false
		stack = append(stack, open{lastAddr(l.Prefix), l.Selected})
	}
	closeUntil(netip.Addr{}, true)
	return mergeRanges(out)
}
