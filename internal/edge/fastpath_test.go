package edge

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"mailgate/internal/store"
)

// TestFastPathAgreesWithEvaluate builds random policies (nested dynamic
// and static prefixes, exemptions, relays, carriers, both families) and
// checks Decide's compiled tables, and DecideBatch, against the
// step-by-step Evaluate.
func TestFastPathAgreesWithEvaluate(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	v4 := func() netip.Addr {
		return netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))})
	}
	v6 := func() netip.Addr {
		var b [16]byte
		b[0], b[1], b[7], b[15] = 0xfd, 0, byte(rng.IntN(4)), byte(rng.IntN(256))
		return netip.AddrFrom16(b)
	}
	for round := 0; round < 60; round++ {
		snap := &store.EdgeSnapshot{Action: store.ActionReset}
		seen := map[netip.Prefix]bool{}
		for i := 0; i < 40; i++ {
			var pf netip.Prefix
			if i%3 == 0 {
				pf = netip.PrefixFrom(v6(), 56+rng.IntN(73)).Masked()
			} else {
				pf = netip.PrefixFrom(v4(), 14+rng.IntN(19)).Masked()
			}
			if seen[pf] {
				continue
			}
			seen[pf] = true
			kind := store.PoolDynamic
			if rng.IntN(3) == 0 {
				kind = store.PoolStatic
			}
			snap.Prefixes = append(snap.Prefixes, store.PoolPrefix{Pool: "p", Kind: kind, Prefix: pf})
		}
		for i := 0; i < 4; i++ {
			snap.Exemptions = append(snap.Exemptions, store.Exemption{Prefix: netip.PrefixFrom(v4(), 20+rng.IntN(13)).Masked(), Reason: "x"})
			snap.Exemptions = append(snap.Exemptions, store.Exemption{Prefix: netip.PrefixFrom(v6(), 120+rng.IntN(9)).Masked(), Reason: "x"})
			snap.Relays = append(snap.Relays, store.Relay{Prefix: netip.PrefixFrom(v4(), 24+rng.IntN(9)).Masked()})
			snap.Carriers = append(snap.Carriers, store.CarrierEntry{Name: "c", Kind: store.CarrierPrefix, Entry: netip.PrefixFrom(v4(), 16+rng.IntN(17)).Masked().String()})
			snap.Carriers = append(snap.Carriers, store.CarrierEntry{Name: "c", Kind: store.CarrierPrefix, Entry: netip.PrefixFrom(v6(), 124).Masked().String()})
		}
		if round%2 == 0 {
			snap.Schedule = []store.ScopeChange{{From: t0, Scope: store.ScopeCarriers}}
		}
		p := Compile(snap, nil, t0.Add(time.Hour))
		srcs, dsts, want := make([]netip.Addr, 5000), make([]netip.Addr, 5000), make([]Verdict, 5000)
		for i := range srcs {
			src, dst := v4(), v4()
			if i%2 == 1 {
				src, dst = v6(), v6()
			}
			slow := p.Evaluate(src, dst, 25).Block
			if fast := p.Decide(src, dst, 25); bool(fast) != slow {
				t.Fatalf("round %d: %s -> %s: Decide %v, Evaluate %v", round, src, dst, fast, slow)
			}
			srcs[i], dsts[i], want[i] = src, dst, Verdict(slow)
		}
		out := make([]Verdict, len(srcs))
		p.DecideBatch(srcs, dsts, 25, out)
		for i := range out {
			if out[i] != want[i] {
				t.Fatalf("round %d: %s -> %s: DecideBatch %v, Evaluate %v", round, srcs[i], dsts[i], out[i], want[i])
			}
		}
	}
}

func TestAddrSet4(t *testing.T) {
	rs := []Range{
		{a("0.0.0.0"), a("0.0.0.0")},
		{a("10.0.0.5"), a("10.0.3.7")},
		{a("10.1.0.0"), a("10.3.255.255")},
		{a("10.5.0.10"), a("10.5.0.20")}, // two runs in one /24: a bitmap
		{a("10.5.0.100"), a("10.5.0.100")},
		{a("10.6.0.250"), a("10.6.1.3")}, // a run at the end of one /24, another at the start of the next
		{a("255.255.255.254"), a("255.255.255.255")},
	}
	s := newAddrSet4(rs)
	if len(s.bitmaps) != 4 {
		t.Errorf("%d bitmap words, want 4: only 10.5.0.0/24 holds more than one run", len(s.bitmaps))
	}
	for _, c := range []struct {
		ip string
		in bool
	}{
		{"0.0.0.0", true}, {"0.0.0.1", false}, {"10.0.0.4", false}, {"10.0.0.5", true}, {"10.0.1.200", true},
		{"10.0.3.7", true}, {"10.0.3.8", false}, {"10.0.255.255", false}, {"10.1.0.0", true}, {"10.2.77.1", true},
		{"10.3.255.255", true}, {"10.4.0.0", false}, {"255.255.255.253", false}, {"255.255.255.255", true},
		{"10.5.0.9", false}, {"10.5.0.10", true}, {"10.5.0.20", true}, {"10.5.0.21", false}, {"10.5.0.99", false},
		{"10.5.0.100", true}, {"10.5.0.101", false}, {"10.6.0.249", false}, {"10.6.0.250", true}, {"10.6.0.255", true},
		{"10.6.1.0", true}, {"10.6.1.3", true}, {"10.6.1.4", false},
	} {
		if got := s.contains(u32(a(c.ip))); got != c.in {
			t.Errorf("%s: %v, want %v", c.ip, got, c.in)
		}
	}
	sub := subtractRanges([]Range{{a("10.0.0.0"), a("10.0.0.255")}, {a("10.0.2.0"), a("10.0.2.9")}},
		[]Range{{a("9.0.0.0"), a("10.0.0.0")}, {a("10.0.0.10"), a("10.0.0.19")}, {a("10.0.0.250"), a("10.0.2.3")}})
	want := []string{"10.0.0.1-10.0.0.9", "10.0.0.20-10.0.0.249", "10.0.2.4-10.0.2.9"}
	if len(sub) != len(want) {
		t.Fatalf("subtract = %v", sub)
	}
	for i := range want {
		if sub[i].String() != want[i] {
			t.Fatalf("subtract = %v, want %v", sub, want)
		}
	}
}

func TestHashSet64(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[uint64]bool{0: true}
	keys := []uint64{0}
	for len(keys) < 5000 {
		// Keys differing only in their low bits, as masked prefixes do not,
		// and keys differing only in their high bits, as they do.
		k := rng.Uint64()
		if len(keys)%2 == 0 {
			k &= 0xffff
		} else {
			k &^= 0xffff_ffff
		}
		if !want[k] {
			want[k] = true
			keys = append(keys, k)
		}
	}
	h := newHashSet64(append(keys, keys[:100]...)) // duplicates are harmless
	for _, k := range keys {
		if !h.contains(k) {
			t.Fatalf("%#x missing", k)
		}
	}
	for range 100000 {
		k := rng.Uint64()
		if h.contains(k) != want[k] {
			t.Fatalf("%#x: contains %v", k, h.contains(k))
		}
	}
	if empty := newHashSet64(nil); empty.contains(0) || empty.contains(42) {
		t.Fatal("the empty set contains something")
	}
}
