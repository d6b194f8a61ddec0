package edge

import (
	"math/bits"
	"net/netip"
)

// batchSize is how many decisions DecideBatch starts together: enough to
// keep a core's outstanding cache misses busy (12-24 on current x86 and
// arm64 cores; one read per decision, rarely two), few enough that the group's
// reads stay in the reorder window.
const batchSize = 16

// DecideBatch sets out[i] to Decide(srcs[i], dsts[i], port) for every i
// (out must be at least as long as srcs, and dsts too). The verdicts are
// Decide's; the difference is speed when the tables are not in cache: a
// lone Decide waits for its table reads before the next one can start
// theirs, so a cold decision costs one memory latency per dependent read.
// Here the reads of 16 decisions are started together (warm) and their
// cache misses overlap.
func (p *Policy) DecideBatch(srcs, dsts []netip.Addr, port uint16, out []Verdict) {
	out, dsts = out[:len(srcs)], dsts[:len(srcs)]
	if port != SMTPPort {
		clear(out)
		return
	}
	p.fastOnce.Do(func() { p.fast = newFastPath(p) })
	var group [batchSize]netip.Addr
	for len(srcs) > 0 {
		n := min(len(srcs), batchSize)
		for i := range n {
			group[i] = srcs[i].Unmap()
		}
		p.fast.warm(group[:n])
		for i := range n {
			out[i] = Verdict(p.fast.block(group[i], dsts[i].Unmap()))
		}
		srcs, dsts, out = srcs[n:], dsts[n:], out[n:]
	}
}

// warm reads, for every source of a group, what its lookup will read:
// first every IPv4 node and IPv6 hash slot (independent reads, so their
// misses overlap), then the spilled IPv4 entries (their nodes are in L1
// now). The sum is returned only so the reads are not optimised away;
// noinline keeps a caller from dropping it.
//
//go:noinline
func (f *fastPath) warm(srcs []netip.Addr) uint64 {
	var x uint64
	s4 := f.src4
	spilled := false
	for _, a := range srcs {
		if a.Is4() {
			n := &s4.nodes[u32(a)>>14]
			x += n.present
			spilled = spilled || n.base&spill != 0
			continue
		}
		hi, _ := halves(a)
		for _, l := range f.src6.short {
			x += l.set.slots[l.set.home(hi&l.mask)]
		}
	}
	if !spilled {
		return x
	}
	for _, a := range srcs {
		if !a.Is4() {
			continue
		}
		v := u32(a)
		n := &s4.nodes[v>>14]
		if k := v >> 8 & 63; n.base&spill != 0 && n.present>>k&1 == 1 {
			x += uint64(s4.ents[n.base&^spill+uint32(bits.OnesCount64(n.present&(1<<k-1)))])
		}
	}
	return x
}
