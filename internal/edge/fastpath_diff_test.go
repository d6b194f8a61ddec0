package edge

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/gaissmai/bart"

	"mailgate/internal/store"
)

// The compiled sets are held to bart, the LPM library the policy is built
// with: for random prefixes, every address at and next to each range's
// ends and random ones inside and outside must get the same answer.

func probes4(rs []Range, rng *rand.Rand) []netip.Addr {
	var out []netip.Addr
	for _, r := range rs {
		out = append(out, r.From, r.To, r.From.Prev(), r.To.Next())
		f, t := u32(r.From), u32(r.To)
		out = append(out, addr4(f+uint32(rng.Uint64N(uint64(t-f)+1))))
	}
	for range 200 {
		out = append(out, addr4(rng.Uint32()))
	}
	return out
}

func addr4(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

func checkAddrSet4(t *testing.T, ps []netip.Prefix, rng *rand.Rand) {
	t.Helper()
	lite := new(bart.Lite)
	for _, p := range ps {
		lite.Insert(p)
	}
	v4, _ := Union(ps)
	s := newAddrSet4(v4)
	for _, x := range probes4(v4, rng) {
		if !x.IsValid() || !x.Is4() {
			continue
		}
		if got, want := s.contains(u32(x)), lite.Contains(x); got != want {
			t.Fatalf("%s: addrSet4 %v, bart %v (prefixes %v)", x, got, want, ps)
		}
	}
}

func TestAddrSet4AgreesWithBart(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for round := range 300 {
		var ps []netip.Prefix
		// Narrow rounds pack prefixes into one /16 so /24s hold several
		// runs (bitmaps) and /18 blocks fill up; wide rounds spread them.
		base := rng.Uint32()
		for range 1 + rng.IntN(60) {
			v, bits := rng.Uint32(), 8+rng.IntN(25)
			if round%2 == 0 {
				v, bits = base&0xffff0000|v&0xffff, 14+rng.IntN(19)
			}
			ps = append(ps, netip.PrefixFrom(addr4(v), bits).Masked())
		}
		checkAddrSet4(t, ps, rng)
	}
	// A block of 64 /24s holding 10 runs keeps them in its node, one of 11
	// spills them; so does one whose /24 holds two runs.
	for _, n := range []int{10, 11} {
		var ps []netip.Prefix
		for i := range n {
			ps = append(ps, netip.PrefixFrom(addr4(0x0a400000|uint32(i*5)<<8|uint32(i)<<4), 28))
		}
		checkAddrSet4(t, ps, rng)
		v4, _ := Union(ps)
		if got, want := newAddrSet4(v4).nodes[0x0a400000>>14].base&spill != 0, n > inlineRuns; got != want {
			t.Errorf("%d runs in a block: spilled %v, want %v", n, got, want)
		}
	}
}

// FuzzDecideAgreesWithEvaluate builds a policy from the input (7 bytes per
// prefix: kind, address, length) and holds the compiled Decide to the
// step-by-step Evaluate (bart) at the prefixes' ends and neighbours.
func FuzzDecideAgreesWithEvaluate(f *testing.F) {
	f.Add([]byte("\x00\x0a\x00\x00\x00\x08\x00\x01\x0a\x01\x02\x00\x18\x00\x02\x0a\x01\x02\x80\x19\x00"))
	f.Add([]byte("\x00\xc0\x00\x02\x00\x12\x00\x00\xc0\x00\x02\x05\x20\x00\x03\xc0\x00\x03\x00\x10\x01"))
	f.Add([]byte("\x04\xfd\x00\x00\x00\x38\x00\x05\xfd\x00\x00\x00\x40\x00\x06\xfd\x00\x00\x00\x7f\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		snap := &store.EdgeSnapshot{Action: store.ActionReset}
		seen := map[netip.Prefix]bool{}
		var probes []netip.Addr
		for len(data) >= 7 && len(probes) < 400 {
			kind, raw, bits, extra := data[0], [4]byte(data[1:5]), int(data[5]), data[6]
			data = data[7:]
			var pf netip.Prefix
			if kind&4 == 0 {
				pf = netip.PrefixFrom(netip.AddrFrom4(raw), bits%33).Masked()
			} else {
				var b [16]byte
				copy(b[:], raw[:])
				b[15] = extra
				pf = netip.PrefixFrom(netip.AddrFrom16(b), bits%129).Masked()
			}
			r := PrefixRange(pf)
			probes = append(probes, r.From, r.To, r.From.Prev(), r.To.Next())
			switch kind & 3 {
			case 0, 1:
				if seen[pf] {
					continue
				}
				seen[pf] = true
				k := store.PoolDynamic
				if kind&3 == 1 {
					k = store.PoolStatic
				}
				snap.Prefixes = append(snap.Prefixes, store.PoolPrefix{Pool: "p", Kind: k, Prefix: pf})
			case 2:
				snap.Exemptions = append(snap.Exemptions, store.Exemption{Prefix: pf, Reason: "x"})
			case 3:
				snap.Relays = append(snap.Relays, store.Relay{Prefix: pf})
				if extra&1 == 1 {
					snap.Carriers = append(snap.Carriers, store.CarrierEntry{Name: "c", Kind: store.CarrierPrefix, Entry: pf.String()})
				}
			}
			if extra&0x80 != 0 {
				snap.Schedule = []store.ScopeChange{{From: t0, Scope: store.ScopeCarriers}}
			}
		}
		p := Compile(snap, nil, t0.Add(time.Hour))
		var srcs, dsts []netip.Addr
		for _, src := range probes {
			for _, dst := range probes {
				if !src.IsValid() || !dst.IsValid() {
					continue
				}
				slow := p.Evaluate(src, dst, 25).Block
				if fast := p.Decide(src, dst, 25); bool(fast) != slow {
					t.Fatalf("%s -> %s: Decide %v, Evaluate %v", src, dst, fast, slow)
				}
				srcs, dsts = append(srcs, src), append(dsts, dst)
			}
		}
		out := make([]Verdict, len(srcs))
		p.DecideBatch(srcs, dsts, 25, out)
		for i := range srcs {
			if out[i] != p.Decide(srcs[i], dsts[i], 25) {
				t.Fatalf("%s -> %s: DecideBatch %v, Decide %v", srcs[i], dsts[i], out[i], !out[i])
			}
		}
	})
}
