package dns

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"
)

// clock is a settable time for the cache.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// TestCacheHonoursTTLs: an answer is served from the cache until its TTL
// runs out, then asked again; a negative answer is kept for the SOA's
// MINIMUM (RFC 2308 §5: the lesser of SOA TTL 60 and MINIMUM 30); a
// SERVFAIL is not kept at all.
func TestCacheHonoursTTLs(t *testing.T) {
	addr, asked := serveCounting(t, `
a.test. 120 IN TXT "v=spf1 -all"
short.test. 5 IN TXT "x"
`)
	clk := &clock{t: time.Unix(1e9, 0)}
	r := New([]string{addr}, 2*time.Second)
	r.Cache.now = clk.now
	ctx := context.Background()
	lookup := func(name string) error { _, err := r.LookupTXT(ctx, name); return err }

	for range 3 {
		if err := lookup("a.test"); err != nil {
			t.Fatal(err)
		}
	}
	if got := asked.Load(); got != 1 {
		t.Fatalf("3 lookups of a cached name asked the server %d times, want 1", got)
	}
	clk.t = clk.t.Add(119 * time.Second)
	lookup("A.TEST.") // case and the final dot do not matter
	if got := asked.Load(); got != 1 {
		t.Fatalf("within the TTL: %d queries, want 1", got)
	}
	clk.t = clk.t.Add(time.Second)
	lookup("a.test")
	if got := asked.Load(); got != 2 {
		t.Fatalf("after the TTL: %d queries, want 2", got)
	}

	// Negative: NXDOMAIN kept for min(SOA TTL 60, MINIMUM 30) = 30 s.
	for range 2 {
		if err := lookup("absent.test"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("absent: %v", err)
		}
	}
	if got := asked.Load(); got != 3 {
		t.Fatalf("negative answer asked %d times in all, want 3", got)
	}
	clk.t = clk.t.Add(29 * time.Second)
	lookup("absent.test")
	if got := asked.Load(); got != 3 {
		t.Fatalf("negative answer within 30 s: %d queries, want 3", got)
	}
	clk.t = clk.t.Add(time.Second)
	lookup("absent.test")
	if got := asked.Load(); got != 4 {
		t.Fatalf("negative answer after 30 s: %d queries, want 4", got)
	}
	// NODATA (the name exists, no TXT) is negative too.
	for range 2 {
		if _, err := r.LookupMX(ctx, "a.test"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("NODATA: %v", err)
		}
	}
	if got := asked.Load(); got != 5 {
		t.Fatalf("NODATA asked %d times in all, want 5", got)
	}

	for range 2 {
		if err := lookup("fail.test"); err == nil || errors.Is(err, ErrNotFound) {
			t.Fatalf("SERVFAIL: %v, want a temporary error", err)
		}
	}
	if got := asked.Load(); got != 7 {
		t.Fatalf("SERVFAIL must not be cached: %d queries in all, want 7", got)
	}
	if s := r.Stats(); s.Hits != 6 || s.Misses != 7 {
		t.Fatalf("stats %+v, want 6 hits and 7 misses", s)
	}
}

// TestCacheEvictsLeastRecentlyUsed: a full cache drops the entry used
// least recently, one at a time, never everything at once.
func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := &Cache{MaxEntries: 3}
	key := func(i int) cacheKey { return cacheKey{fmt.Sprintf("n%d.test.", i), 16} }
	for i := range 3 {
		c.put(&cacheEntry{key: key(i)}, time.Minute)
	}
	c.get(key(0)) // 0 is now the most recently used; 1 the least
	c.put(&cacheEntry{key: key(3)}, time.Minute)
	if _, ok := c.get(key(1)); ok {
		t.Fatal("the least recently used entry survived")
	}
	for _, i := range []int{0, 2, 3} {
		if _, ok := c.get(key(i)); !ok {
			t.Fatalf("entry %d was evicted", i)
		}
	}
	if s := c.Stats(); s.Entries != 3 || s.Evictions != 1 {
		t.Fatalf("stats %+v", s)
	}
}

// TestInvalidNamesAreNotFound: names no server could answer for (a label
// over 63 octets, an empty label) are a definite "not found" without a
// query, as SPF's initial processing needs (RFC 7208 §4.3).
func TestInvalidNamesAreNotFound(t *testing.T) {
	addr, asked := serveCounting(t, `a.test. 60 IN TXT "x"`)
	r := New([]string{addr}, time.Second)
	for _, name := range []string{"a...test", "a123456789012345678901234567890123456789012345678901234567890123.test", ""} {
		if _, err := r.LookupTXT(context.Background(), name); !errors.Is(err, ErrNotFound) {
			t.Errorf("%q: %v, want ErrNotFound", name, err)
		}
	}
	if asked.Load() != 0 {
		t.Fatalf("invalid names were sent to the server")
	}
}

// TestLookupAddr: PTR names of IPv4 and IPv6 addresses.
func TestLookupAddr(t *testing.T) {
	addr := serve(t, `
2.0.0.127.in-addr.arpa. 60 IN PTR mx.a.test.
1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 60 IN PTR v6.a.test.
`)
	r := New([]string{addr}, time.Second)
	for ip, want := range map[string]string{"127.0.0.2": "mx.a.test.", "2001:db8::1": "v6.a.test."} {
		names, err := r.LookupAddr(context.Background(), ip)
		if err != nil || len(names) != 1 || names[0] != want {
			t.Errorf("PTR %s: %v %v", ip, names, err)
		}
	}
	if _, err := r.LookupAddr(context.Background(), "127.0.0.9"); !errors.Is(err, ErrNotFound) {
		t.Errorf("no PTR: %v", err)
	}
}

// TestSystemServers: with no servers configured the client asks those of
// resolv.conf (port 53), or the local machine's when it lists none
// (resolv.conf(5)).
func TestSystemServers(t *testing.T) {
	old := ResolvConf
	defer func() { ResolvConf = old }()
	ResolvConf = filepath.Join(t.TempDir(), "resolv.conf")
	os.WriteFile(ResolvConf, []byte("search corp.example\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n"), 0o644)
	if got := New(nil, time.Second).servers(); !slices.Equal(got, []string{"192.0.2.53:53", "[2001:db8::53]:53"}) {
		t.Fatalf("servers %v", got)
	}
	os.WriteFile(ResolvConf, []byte("# none\n"), 0o644)
	if got := New(nil, time.Second).servers(); !slices.Equal(got, []string{"127.0.0.1:53", "[::1]:53"}) {
		t.Fatalf("servers without nameserver lines %v", got)
	}
}

// TestCacheBoundsBytes: big answers are evicted by size too, and one
// answer larger than a sixteenth of the cache is not kept at all.
func TestCacheBoundsBytes(t *testing.T) {
	c := &Cache{MaxBytes: 64 << 10}
	txt := func(name string, n int) *cacheEntry {
		rr, _ := mdns.NewRR(name + " 60 IN TXT \"" + strings.Repeat("x", 250) + "\"")
		e := &cacheEntry{key: cacheKey{name, mdns.TypeTXT}}
		for range n {
			e.rrs = append(e.rrs, rr)
		}
		return e
	}
	c.put(txt("huge.test.", 40), time.Minute) // ~12 KiB > 4 KiB
	if _, ok := c.get(cacheKey{"huge.test.", mdns.TypeTXT}); ok {
		t.Fatal("an answer over a sixteenth of the cache was kept")
	}
	for i := range 100 {
		c.put(txt(fmt.Sprintf("n%d.test.", i), 10), time.Minute) // ~3.3 KiB each
	}
	s := c.Stats()
	if s.Bytes > 64<<10 || s.Entries >= 100 || s.Evictions == 0 {
		t.Fatalf("stats %+v: not bounded to 64 KiB", s)
	}
	if _, ok := c.get(cacheKey{"n99.test.", mdns.TypeTXT}); !ok {
		t.Fatal("the newest entry was evicted")
	}
}
