package edge

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"mailgate/internal/store"
)

// Issue 11 §6: the feed publishes exactly the DNSBL's address space. A
// fixed-IP customer (a static pool inside a dynamic one, or an exemption)
// is in neither; an expired exemption is back in both.
func TestFeedIsTheDNSBLSpace(t *testing.T) {
	for _, at := range []time.Time{t0, t0.Add(49 * time.Hour)} {
		p := Compile(testSnapshot(), nil, at)
		var feed []netip.Prefix
		for _, e := range Feed(p) {
			feed = append(feed, netip.MustParsePrefix(e.Prefix))
		}
		inFeed := func(a netip.Addr) bool {
			return slices.ContainsFunc(feed, func(p netip.Prefix) bool { return p.Contains(a) })
		}
		for addr, want := range map[string]bool{
			"10.1.2.3": true, "10.1.5.9": false, "10.1.7.7": false, "10.1.7.6": true, "10.1.7.8": true,
			"10.1.8.1": at.After(t0.Add(48 * time.Hour)), "10.2.0.1": false, "2001:db8:10::1": true,
		} {
			_, _, listed := p.Listed(a(addr))
			if listed != want || inFeed(a(addr)) != want {
				t.Errorf("at %v: %s listed by the DNSBL %v, in the feed %v; want %v", at, addr, listed, inFeed(a(addr)), want)
			}
		}
		// Every address of the pools, and their edges, answers the same.
		rng := rand.New(rand.NewPCG(1, 2))
		for range 20000 {
			ad := netip.AddrFrom4([4]byte{10, 1, byte(rng.IntN(256)), byte(rng.IntN(256))})
			if _, _, listed := p.Listed(ad); listed != inFeed(ad) {
				t.Fatalf("at %v: %s listed by the DNSBL %v, in the feed %v", at, ad, listed, inFeed(ad))
			}
		}
	}
}

// Pool names survive the cutting: a dynamic pool inside another dynamic
// one is published under its own name, its encloser around it.
func TestListedSpaceNamesThePool(t *testing.T) {
	p := Compile(&store.EdgeSnapshot{Prefixes: []store.PoolPrefix{
		pp("outer", store.PoolDynamic, "10.0.0.0/24"), pp("inner", store.PoolDynamic, "10.0.0.128/25"),
		pp("fixed", store.PoolStatic, "10.0.0.0/26"),
	}}, nil, t0)
	var got []string
	for _, l := range p.ListedSpace() {
		got = append(got, l.Prefix.String()+" "+l.Pool)
	}
	want := []string{"10.0.0.64/26 outer", "10.0.0.128/25 inner"}
	if !slices.Equal(got, want) {
		t.Fatalf("listed space %v, want %v", got, want)
	}
}

func TestSubtract(t *testing.T) {
	r := func(from, to string) Range { return Range{a(from), a(to)} }
	got := subtract(r("10.0.0.0", "10.0.0.255"), []Range{r("10.0.0.250", "10.0.1.5"), r("9.0.0.0", "10.0.0.0"), r("10.0.0.10", "10.0.0.20"), r("10.0.0.15", "10.0.0.30")})
	want := []Range{r("10.0.0.1", "10.0.0.9"), r("10.0.0.31", "10.0.0.249")}
	if !slices.Equal(got, want) {
		t.Fatalf("subtract = %v, want %v", got, want)
	}
	if got := subtract(r("255.255.255.0", "255.255.255.255"), []Range{r("255.255.255.0", "255.255.255.255")}); len(got) != 0 {
		t.Fatalf("all cut: %v", got)
	}
}
