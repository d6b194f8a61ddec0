package edge

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"unsafe"
)

// addrSet4 is the set of blocked IPv4 sources, compressed so that a
// million prefixes take a few megabytes and a cold lookup reads one cache
// line (the DIR-16-8 table it replaces took 64 MiB at 1M random prefixes
// and two dependent reads: every cold decision was two DRAM misses, and
// TLB misses without huge pages).
//
// The address space is cut into 2^18 blocks of 64 /24s (/18s). A block is
// one 32-byte node: a bit per /24 saying whether the /24 holds anything,
// and the entries of those /24s, found by counting the bits below the
// /24's own (popcount, as in Poptrie and bart). An entry is one run of
// addresses inside the /24 (a whole /24 is the run 0..255; pools rarely
// share a /24, so this is the common case). A block of up to 10 such
// entries keeps them in the node itself: the lookup is one read. Denser
// blocks, and /24s holding several runs (a 256-bit bitmap), spill into
// ents and bitmaps: two or three dependent reads. With 750k random IPv4
// prefixes (BenchmarkDecide1M) 246k blocks hold something, 3 /24s each on
// average, and 3 % of them spill, nearly all for a /24 with two runs.
type addrSet4 struct {
	nodes   *[1 << 18]node4
	ents    []uint32 // spilled entries: runFlag|from<<8|to, or the index of a bitmap (4 words)
	bitmaps []uint64
}

type node4 struct {
	present uint64 // bit k: /24 number k of the block has an entry
	// base is all18 for a block wholly in the set (present is 0),
	// spill|i when the block's entries are ents[i:], else 0.
	base uint32
	runs [inlineRuns]uint16 // from<<8|to of each present /24, in order
}

const (
	inlineRuns = 10 // fills the node to 32 bytes: two per cache line
	spill      = 1 << 31
	all18      = 1<<32 - 1
)

// runFlag marks an entry holding one run from..to (last octets).
const runFlag = 1 << 31

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// newAddrSet4 builds the set from sorted, disjoint ranges.
func newAddrSet4(rs []Range) *addrSet4 {
	b := set4Builder{nodes: make([]node4, 1<<18), cur: -1}
	for _, r := range rs {
		to := uint64(u32(r.To))
		for a := uint64(u32(r.From)); a <= to; {
			switch {
			case a&0x3fff == 0 && a+0x3fff <= to:
				b.nodes[a>>14].base = all18
				a += 0x4000
			default:
				end := min(to, a|0xff)
				b.addRun(int64(a>>8), int(a&0xff), int(end&0xff))
				a = end + 1
			}
		}
	}
	b.flush()
	s := &addrSet4{bitmaps: b.bitmaps}
	for i := range b.nodes {
		n := &b.nodes[i]
		if n.present == 0 {
			continue
		}
		ents := b.ents[n.base : int(n.base)+bits.OnesCount64(n.present)]
		if inline(n, ents) {
			continue
		}
		n.base = spill | uint32(len(s.ents))
		s.ents = append(s.ents, ents...)
	}
	s.nodes = (*[1 << 18]node4)(hugeCopy(s, b.nodes))
	s.ents, s.bitmaps = hugeCopy(s, s.ents), hugeCopy(s, s.bitmaps)
	return s
}

// inline moves a block's entries into its node if they fit and are all
// runs.
func inline(n *node4, ents []uint32) bool {
	if len(ents) > inlineRuns {
		return false
	}
	for _, e := range ents {
		if e&runFlag == 0 {
			return false
		}
	}
	for i, e := range ents {
		n.runs[i] = uint16(e)
	}
	n.base = 0
	return true
}

// set4Builder collects one /24 at a time: ranges arrive sorted, so a /24
// is complete when the next one starts.
type set4Builder struct {
	nodes   []node4
	ents    []uint32
	bitmaps []uint64
	cur     int64     // the /24 being collected, -1 none
	bits    [4]uint64 // its addresses
}

func (b *set4Builder) addRun(c24 int64, from, to int) {
	if c24 != b.cur {
		b.flush()
		b.cur = c24
	}
	for o := from; o <= to; o++ {
		b.bits[o>>6] |= 1 << (o & 63)
	}
}

func (b *set4Builder) flush() {
	if b.cur < 0 {
		return
	}
	n := &b.nodes[b.cur>>6]
	if n.present == 0 {
		n.base = uint32(len(b.ents))
	}
	n.present |= 1 << (b.cur & 63)
	if from, to, ok := singleRun(b.bits[:]); ok {
		b.ents = append(b.ents, runFlag|from<<8|to)
	} else {
		b.ents = append(b.ents, uint32(len(b.bitmaps)/4))
		b.bitmaps = append(b.bitmaps, b.bits[:]...)
	}
	b.cur, b.bits = -1, [4]uint64{}
}

// singleRun reports whether a 256-bit bitmap is one run of set bits.
func singleRun(b []uint64) (from, to uint32, ok bool) {
	first, last := -1, -1
	for i := 0; i < 256; i++ {
		if b[i>>6]>>(i&63)&1 == 0 {
			continue
		}
		if first < 0 {
			first = i
		} else if last != i-1 {
			return 0, 0, false
		}
		last = i
	}
	return uint32(first), uint32(last), first >= 0
}

func (s *addrSet4) contains(a uint32) bool {
	n := &s.nodes[a>>14]
	k := a >> 8 & 63
	if n.present>>k&1 == 0 {
		return n.base == all18
	}
	i := uint32(bits.OnesCount64(n.present & (1<<k - 1)))
	o := a & 0xff
	var e uint32
	if n.base&spill == 0 {
		e = uint32(n.runs[i])
	} else if e = s.ents[n.base&^spill+i]; e&runFlag == 0 {
		return s.bitmaps[e*4+o>>6]>>(o&63)&1 == 1
	}
	return e>>8&0xff <= o && o <= e&0xff
}

// bytes is the memory the set reads at lookup time.
func (s *addrSet4) bytes() int {
	return len(s.nodes)*int(unsafe.Sizeof(node4{})) + 4*len(s.ents) + 8*len(s.bitmaps)
}
