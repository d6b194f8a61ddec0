package edge

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/nftables"
)

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func TestSelectedRangesStaticHoleInDynamic(t *testing.T) {
	v4, v6 := SelectedRanges([]Labeled{
		{mustPrefix("10.1.0.0/16"), true},
		{mustPrefix("10.1.5.0/24"), false},
		{mustPrefix("10.1.5.128/25"), true}, // dynamic again inside the static hole
		{mustPrefix("fd00:1::/48"), true},
		{mustPrefix("192.0.2.0/24"), false},
	})
	got := []string{}
	for _, r := range append(v4, v6...) {
		got = append(got, r.String())
	}
	want := []string{"10.1.0.0-10.1.4.255", "10.1.5.128-10.1.255.255", "fd00:1::/48"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestSelectedRangesEdgesOfTheAddressSpace(t *testing.T) {
	v4, _ := SelectedRanges([]Labeled{
		{mustPrefix("0.0.0.0/0"), true},
		{mustPrefix("255.255.255.0/24"), false},
		{mustPrefix("0.0.0.0/8"), false},
	})
	if len(v4) != 1 || v4[0].String() != "1.0.0.0-255.255.254.255" {
		t.Fatalf("got %v", v4)
	}
	v4, _ = SelectedRanges([]Labeled{{mustPrefix("255.255.255.255/32"), true}, {mustPrefix("255.255.255.0/24"), false}})
	if len(v4) != 1 || v4[0].String() != "255.255.255.255" {
		t.Fatalf("got %v", v4)
	}
}

// TestSelectedRangesMatchesLPM compares the sweep with a brute-force
// longest-prefix match over every address of a small space.
func TestSelectedRangesMatchesLPM(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		var ls []Labeled
		seen := map[netip.Prefix]bool{}
		for i := 0; i < 1+rng.IntN(12); i++ {
			bits := 20 + rng.IntN(13)
			a := netip.AddrFrom4([4]byte{10, 0, byte(rng.IntN(16)), byte(rng.IntN(256))})
			p := netip.PrefixFrom(a, bits).Masked()
			if seen[p] {
				continue
			}
			seen[p] = true
			ls = append(ls, Labeled{p, rng.IntN(2) == 0})
		}
		v4, _ := SelectedRanges(ls)
		for i := 0; i < 4096; i++ {
			a := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
			best, sel := -1, false
			for _, l := range ls {
				if l.Prefix.Contains(a) && l.Prefix.Bits() > best {
					best, sel = l.Prefix.Bits(), l.Selected
				}
			}
			in := false
			for _, r := range v4 {
				if r.From.Compare(a) <= 0 && a.Compare(r.To) <= 0 {
					in = true
				}
			}
			if in != sel {
				t.Fatalf("round %d: %s: ranges say %v, LPM says %v\nprefixes %v\nranges %v", round, a, in, sel, ls, v4)
			}
		}
		for i := 1; i < len(v4); i++ {
			if v4[i-1].To.Next().Compare(v4[i].From) >= 0 {
				t.Fatalf("ranges not disjoint and merged: %v", v4)
			}
		}
	}
}

func TestRangeCIDRsAndPrefix(t *testing.T) {
	r := Range{netip.MustParseAddr("10.1.0.0"), netip.MustParseAddr("10.1.4.255")}
	var got []string
	for _, p := range r.CIDRs() {
		got = append(got, p.String())
	}
	if !slices.Equal(got, []string{"10.1.0.0/22", "10.1.4.0/24"}) {
		t.Fatalf("CIDRs = %v", got)
	}
	if _, ok := r.Prefix(); ok {
		t.Fatal("range is not one prefix")
	}
	if s := PrefixRange(mustPrefix("fd00::/127")).String(); s != "fd00::/127" {
		t.Fatalf("String = %s", s)
	}
	full := Range{netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255")}
	if c := full.CIDRs(); len(c) != 1 || c[0].Bits() != 0 {
		t.Fatalf("full range CIDRs = %v", c)
	}
}

func TestUnionMergesOverlapsAndNeighbours(t *testing.T) {
	v4, v6 := Union([]netip.Prefix{mustPrefix("10.0.0.0/25"), mustPrefix("10.0.0.128/25"), mustPrefix("10.0.0.7/32"), mustPrefix("2001:db8::/64"), mustPrefix("10.0.2.0/24")})
	if len(v4) != 2 || v4[0].String() != "10.0.0.0/24" || v4[1].String() != "10.0.2.0/24" || len(v6) != 1 {
		t.Fatalf("got %v %v", v4, v6)
	}
}

// TestRangesFromElements reads the kernel's boundary encoding back:
// start elements and end elements one past the last address.
func TestRangesFromElements(t *testing.T) {
	el := func(a string, end bool) nftables.SetElement {
		return nftables.SetElement{Key: netip.MustParseAddr(a).AsSlice(), IntervalEnd: end}
	}
	got := rangesFromElements([]nftables.SetElement{
		el("10.0.1.0", true), el("10.0.0.0", false), // kernels dump in reverse
		el("10.0.5.6", false), el("10.0.5.7", true),
		el("0.0.0.0", true), // legacy leading end marker: ignored
		el("255.255.255.0", false),
	})
	var s []string
	for _, r := range got {
		s = append(s, r.String())
	}
	if !slices.Equal(s, []string{"10.0.0.0/24", "10.0.5.6", "255.255.255.0/24"}) {
		t.Fatalf("got %v", s)
	}
}
