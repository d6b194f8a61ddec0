package edge

import (
	"net/netip"
	"unsafe"
)

// batchSize is how many decisions DecideBatch asks the memory for at a
// time: enough to keep a core's outstanding cache misses busy (12-24 on
// current x86 and arm64 cores; one line per decision, rarely two), and
// about as many as take one memory latency to decide once their lines
// are in (16 x ~15 ns against ~100-160 ns), so the next group's lines
// arrive while this group is decided.
const batchSize = 16

// maxProbes6 is how many IPv6 prefix lengths a source's lines are
// prefetched for: subscriber space uses one to three (/48, /56, /64).
const maxProbes6 = 3

// DecideBatch sets out[i] to Decide(srcs[i], dsts[i], port) for every i
// (out must be at least as long as srcs, and dsts too). The verdicts are
// Decide's; the difference is speed when the tables are not in cache: a
// lone Decide waits for its table reads before the next one can start
// theirs, so a cold decision costs one memory latency per dependent read.
// Here the lines of the next 16 decisions are prefetched while the
// current 16 are decided (software pipelining), so the misses overlap
// each other and the work. Pass as many as there are: a call of 16 has
// no next group to overlap with.
func (p *Policy) DecideBatch(srcs, dsts []netip.Addr, port uint16, out []Verdict) {
	out, dsts = out[:len(srcs)], dsts[:len(srcs)]
	if port != SMTPPort {
		clear(out)
		return
	}
	p.fastOnce.Do(func() { p.fast = newFastPath(p) })
	f := p.fast
	var lines [batchSize * maxProbes6]unsafe.Pointer
	prefetch(f.lines(srcs[:min(len(srcs), batchSize)], lines[:0]))
	for i := 0; i < len(srcs); i += batchSize {
		end := min(i+batchSize, len(srcs))
		if end < len(srcs) {
			prefetch(f.lines(srcs[end:min(end+batchSize, len(srcs))], lines[:0]))
		}
		for j := i; j < end; j++ {
			out[j] = Verdict(f.block(srcs[j].Unmap(), dsts[j].Unmap()))
		}
	}
}

// lines appends, for every source, the table lines its lookup reads
// first: the IPv4 node, or the home slot of each IPv6 length (the first
// maxProbes6). A spilled IPv4 block's entry (about 3 % of blocks) is a
// second, dependent read and is left to the lookup.
func (f *fastPath) lines(srcs []netip.Addr, out []unsafe.Pointer) []unsafe.Pointer {
	for _, a := range srcs {
		if a = a.Unmap(); a.Is4() {
			out = append(out, unsafe.Pointer(&f.src4.nodes[u32(a)>>14]))
			continue
		}
		hi, _ := halves(a)
		for _, l := range f.src6.short[:min(len(f.src6.short), maxProbes6)] {
			out = append(out, unsafe.Pointer(&l.set.slots[l.set.home(hi&l.mask)]))
		}
	}
	return out
}
