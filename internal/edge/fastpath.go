package edge

import (
	"encoding/binary"
	"net/netip"
	"slices"

	"github.com/gaissmai/bart"

	"mailgate/internal/store"
)

// The hot path of Decide. The policy's longest-prefix match (bart tables,
// resolved into ranges by SelectedRanges) is compiled once more into
// structures that answer "is this source blocked?" with one memory read
// that may miss the cache (rarely two), because a 1M-prefix trie does not
// stay in cache and the target is >= 20M decisions per second per core
// (addrSet4 in fastpath4.go, addrSet6 below, DecideBatch in
// decidebatch.go).

// ranges4 is a small sorted set of IPv4 ranges (relays, carriers).
type ranges4 [][2]uint32

func newRanges4(rs []Range) ranges4 {
	out := make(ranges4, 0, len(rs))
	for _, r := range rs {
		out = append(out, [2]uint32{u32(r.From), u32(r.To)})
	}
	return out
}

func (rs ranges4) contains(a uint32) bool {
	if len(rs) <= 8 {
		for _, r := range rs {
			if r[0] <= a && a <= r[1] {
				return true
			}
		}
		return false
	}
	i, _ := slices.BinarySearchFunc(rs, a, func(r [2]uint32, a uint32) int {
		if r[1] < a {
			return -1
		}
		if r[0] > a {
			return 1
		}
		return 0
	})
	return i < len(rs) && rs[i][0] <= a && a <= rs[i][1]
}

// fastPath answers Decide without building reasons.
type fastPath struct {
	src4             *addrSet4 // effective blocked sources: dynamic by LPM, not exempt
	relay4, carrier4 ranges4
	src6             *addrSet6 // dynamic by LPM; exemptions checked apart
	exempt6          *bart.Lite
	relay6, carrier6 *bart.Lite
	carriersOnly     bool
}

func liteOf(rs []Range) *bart.Lite {
	l := new(bart.Lite)
	for _, r := range rs {
		for _, c := range r.CIDRs() {
			l.Insert(c)
		}
	}
	return l
}

func newFastPath(p *Policy) *fastPath {
	return &fastPath{
		src4:   newAddrSet4(subtractRanges(p.Dyn4, p.Exempt4)),
		relay4: newRanges4(p.Relay4), carrier4: newRanges4(p.Carrier4),
		src6: newAddrSet6(p.Dyn6), exempt6: liteOf(p.Exempt6),
		relay6: liteOf(p.Relay6), carrier6: liteOf(p.Carrier6),
		carriersOnly: p.Scope == store.ScopeCarriers,
	}
}

// block is the whole decision for TCP 25 between unmapped addresses. The
// destination is looked up in its own family even when the source's
// differs (no such connection exists, but Evaluate answers it that way).
func (f *fastPath) block(src, dst netip.Addr) bool {
	if src.Is4() {
		if !f.src4.contains(u32(src)) {
			return false
		}
	} else if !f.src6.contains(src) || f.exempt6.Contains(src) {
		return false
	}
	if dst.Is4() {
		d := u32(dst)
		if f.relay4.contains(d) {
			return false
		}
		return !f.carriersOnly || f.carrier4.contains(d)
	}
	if f.relay6.Contains(dst) {
		return false
	}
	return !f.carriersOnly || f.carrier6.Contains(dst)
}

// subtractRanges returns a minus b; both sorted and disjoint.
func subtractRanges(a, b []Range) []Range {
	var out []Range
	j := 0
	for _, r := range a {
		from := r.From
		for j < len(b) && b[j].To.Compare(from) < 0 {
			j++
		}
		cut := false
		for k := j; k < len(b) && b[k].From.Compare(r.To) <= 0; k++ {
			if b[k].From.Compare(from) > 0 {
				out = append(out, Range{from, b[k].From.Prev()})
			}
			if b[k].To.Compare(r.To) >= 0 {
				cut = true
				break
			}
			from = b[k].To.Next()
		}
		if !cut {
			out = append(out, Range{from, r.To})
		}
	}
	return out
}

// addrSet6 is a set of IPv6 prefixes as one hash set per prefix length.
// Subscriber space uses few lengths (/48, /56, /64), so a lookup is one to
// three hash probes. Exemptions are not subtracted here: a /128 carved
// out of a /56 would add dozens of lengths.
type addrSet6 struct {
	short []lenSet64 // lengths <= 64, longest first
	long  []lenSet128
}

type lenSet64 struct {
	mask uint64
	set  *hashSet64
}

type lenSet128 struct {
	mask [2]uint64
	m    map[[2]uint64]struct{}
}

// halves is an IPv6 address as two integers. Not through As16, and
// returned in registers, not as an array: the compiler moves a [16]byte
// or [2]uint64 with one 16-byte load from two 8-byte stores, which the
// core cannot forward, so the load waits for the stores to retire, behind
// the previous lookup's cache miss, and cold lookups run one at a time
// (88 ns each instead of 26 in a batch, measured). AppendBinary writes 8
// bytes at a time and they are read back the same way.
func halves(a netip.Addr) (hi, lo uint64) {
	var buf [16]byte
	b, _ := a.AppendBinary(buf[:0])
	if len(b) < 16 {
		return 0, 0 // not IPv6: no caller asks
	}
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:16])
}

func newAddrSet6(rs []Range) *addrSet6 {
	s := &addrSet6{}
	short := map[int][]uint64{}
	long := map[int]map[[2]uint64]struct{}{}
	for _, r := range rs {
		for _, c := range r.CIDRs() {
			hi, lo := halves(c.Addr())
			h := [2]uint64{hi, lo}
			if n := c.Bits(); n <= 64 {
				short[n] = append(short[n], h[0])
			} else {
				if long[n] == nil {
					long[n] = map[[2]uint64]struct{}{}
				}
				long[n][h] = struct{}{}
			}
		}
	}
	for n := 64; n >= 0; n-- {
		if keys, ok := short[n]; ok {
			var mask uint64
			if n > 0 {
				mask = ^uint64(0) << (64 - n)
			}
			s.short = append(s.short, lenSet64{mask, newHashSet64(keys)})
		}
	}
	for n := 128; n > 64; n-- {
		if m, ok := long[n]; ok {
			var mask [2]uint64
			mask[0] = ^uint64(0)
			mask[1] = ^uint64(0) << (128 - n)
			s.long = append(s.long, lenSet128{mask, m})
		}
	}
	return s
}

func (s *addrSet6) contains(a netip.Addr) bool {
	hi, lo := halves(a)
	for _, l := range s.short {
		if l.set.contains(hi & l.mask) {
			return true
		}
	}
	for _, l := range s.long {
		if _, ok := l.m[[2]uint64{hi, lo & l.mask[1]}]; ok {
			return true
		}
	}
	return false
}

// hashSet64 is a set of uint64 in one flat open-addressing table (linear
// probing, at most half full): a lookup is usually a single cache line,
// where a Go map of a million keys walks directory, table and group.
type hashSet64 struct {
	slots   []uint64 // 0 = empty; key 0 is kept in hasZero
	shift   uint     // 64 - log2(len(slots))
	hasZero bool
}

func newHashSet64(keys []uint64) *hashSet64 {
	bits := uint(4)
	for 1<<bits < 2*len(keys) {
		bits++
	}
	h := &hashSet64{shift: 64 - bits}
	slots := make([]uint64, 1<<bits)
	for _, k := range keys {
		if k == 0 {
			h.hasZero = true
			continue
		}
		i := h.home(k)
		for slots[i] != 0 && slots[i] != k {
			i = (i + 1) & uint64(len(slots)-1)
		}
		slots[i] = k
	}
	h.slots = hugeCopy(h, slots)
	return h
}

// home is the key's first slot: Fibonacci hashing, the top bits of the
// product, so keys that differ only in their high bits spread too.
func (h *hashSet64) home(k uint64) uint64 { return (k * 0x9e3779b97f4a7c15) >> h.shift }

func (h *hashSet64) contains(k uint64) bool {
	if k == 0 {
		return h.hasZero
	}
	mask := uint64(len(h.slots) - 1)
	for i := h.home(k); ; i = (i + 1) & mask {
		switch h.slots[i] {
		case k:
			return true
		case 0:
			return false
		}
	}
}

// bytes is the memory the set reads at lookup time (the hash sets; the
// maps of lengths past /64 are left out).
func (s *addrSet6) bytes() int {
	n := 0
	for _, l := range s.short {
		n += 8 * len(l.set.slots)
	}
	return n
}

// bytes is the memory of the source tables a decision reads.
func (f *fastPath) bytes() int { return f.src4.bytes() + f.src6.bytes() }
