package edge

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/google/nftables"
)

// Attempts is what the kernel knows of one blocked source. Secrecy of
// communications (電気通信事業法 §4): only addresses and counts are kept,
// never content; destinations only as a count.
type Attempts struct {
	Source       netip.Addr
	Count        uint64
	Destinations int // distinct destinations within the window
	FirstSeen    time.Time
	LastSeen     time.Time
	Pool         string
}

// ReadAttempts reads the kernel's counting sets in the current network
// namespace and returns sources, most attempts first. now dates the
// kernel's relative timers.
func ReadAttempts(p *Policy, now time.Time) ([]Attempts, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, err
	}
	t := &nftables.Table{Name: Table, Family: nftables.TableFamilyINet}
	by := map[netip.Addr]*Attempts{}
	get := func(a netip.Addr) *Attempts {
		if x, ok := by[a]; ok {
			return x
		}
		x := &Attempts{Source: a}
		if p != nil {
			if pi, ok := p.poolTable().Lookup(a); ok {
				x.Pool = p.poolInfo[pi].Pool
			}
		}
		by[a] = x
		return x
	}
	read := func(name string) ([]nftables.SetElement, error) {
		s, err := c.GetSetByName(t, name)
		if err != nil {
			return nil, permHint(fmt.Errorf("read set %s of table inet %s: %w (has `mailgate edge apply` run in this namespace?)", name, Table, err))
		}
		els, err := c.GetSetElements(s)
		for i := range els {
			if els[i].Timeout == 0 {
				// the kernel omits an element's timeout when it is the set's
				els[i].Timeout = s.Timeout
			}
		}
		return els, err
	}
	for _, fam := range []string{"4", "6"} {
		hits, err := read("hits" + fam)
		if err != nil {
			return nil, err
		}
		for _, e := range hits {
			a, ok := netip.AddrFromSlice(e.Key)
			if !ok {
				continue
			}
			x := get(a.Unmap())
			if e.Counter != nil {
				x.Count += e.Counter.Packets
			}
			// "add" never refreshes the timeout: it started at the first attempt.
			if e.Timeout > 0 {
				x.FirstSeen = now.Add(-(e.Timeout - e.Expires)).Truncate(time.Second)
			}
		}
		last, err := read("last" + fam)
		if err != nil {
			return nil, err
		}
		for _, e := range last {
			if a, ok := netip.AddrFromSlice(e.Key); ok && e.Timeout > 0 {
				get(a.Unmap()).LastSeen = now.Add(-(e.Timeout - e.Expires)).Truncate(time.Second)
			}
		}
		pairs, err := read("pairs" + fam)
		if err != nil {
			return nil, err
		}
		n := 4
		if fam == "6" {
			n = 16
		}
		for _, e := range pairs {
			if len(e.Key) < n {
				continue
			}
			if a, ok := netip.AddrFromSlice(e.Key[:n]); ok {
				get(a.Unmap()).Destinations++
			}
		}
	}
	out := make([]Attempts, 0, len(by))
	for _, x := range by {
		if x.Count == 0 && x.FirstSeen.IsZero() {
			continue // only in last/pairs: raced a timeout
		}
		out = append(out, *x)
	}
	// Most first, then by address.
	slices.SortFunc(out, func(a, b Attempts) int { return cmp.Or(cmp.Compare(b.Count, a.Count), a.Source.Compare(b.Source)) })
	return out, nil
}
