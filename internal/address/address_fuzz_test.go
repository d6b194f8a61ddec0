package address

import (
	"errors"
	"strings"
	"testing"
)

// FuzzSplit: Split and Normalize never panic, and what they accept has
// none of the routing syntax RFC 2505 §2.1 warns about ('%', '!', a second
// '@', a source route, quotes), is lower-case, fits RFC 5321's limits,
// and normalizes to itself.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		"alice@example.net", "Alice.Smith+tag@Mail.Example.NET.", "a@b", "a@b.c", "@a.example:u@b.example",
		"u%v@example.net", "u!v@example.net", "a@b@example.net", "\"a b\"@example.net", "\"a@b\"@example.net",
		".a@example.net", "a.@example.net", "a..b@example.net", "a@-x.example", "a@x-.example", "a@x..example",
		"a@example.net.", "ü@bücher.example", "a@[192.0.2.1]", "<a@example.net>", "a @example.net", "a@example.net\r\n",
		strings.Repeat("a", 64) + "@example.net", strings.Repeat("a", 65) + "@example.net", "a@" + strings.Repeat("b.", 130) + "net",
		"bob/./@example.test", "/@example.test", "a@ünïcödé.test", "a@XN--NCD-DMA1A7BZB.test", "a@xn--garbage.test", "a@ｅｘａｍｐｌｅ.test",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		local, domain, err := Split(addr)
		norm, nerr := Normalize(addr)
		if (err == nil) != (nerr == nil) {
			t.Fatalf("Split and Normalize disagree on %q: %v / %v", addr, err, nerr)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			if Domain(addr) != "" {
				t.Fatalf("Domain(%q) = %q for an invalid address", addr, Domain(addr))
			}
			return
		}
		if norm != local+"@"+domain {
			t.Fatalf("Normalize(%q) = %q, Split gave %q %q", addr, norm, local, domain)
		}
		if strings.ContainsAny(norm, "%!\"\\:;<>[](), \t\r\n\x00") {
			t.Fatalf("accepted %q -> %q with routing or quoting syntax", addr, norm)
		}
		if strings.Count(norm, "@") != 1 || strings.HasPrefix(norm, "@") || strings.HasSuffix(norm, "@") {
			t.Fatalf("accepted %q -> %q without exactly one inner '@'", addr, norm)
		}
		if norm != strings.ToLower(norm) {
			t.Fatalf("%q not lower-cased", norm)
		}
		if len(local) > 64 || len(domain) > 253 || len(norm) > 254 {
			t.Fatalf("%q exceeds RFC 5321 §4.5.3.1 limits", norm)
		}
		if !strings.Contains(domain, ".") || strings.HasSuffix(domain, ".") || CheckDomain(domain) != nil {
			t.Fatalf("domain %q of %q not fully qualified", domain, addr)
		}
		if again, err := CanonicalDomain(domain); err != nil || again != domain {
			t.Fatalf("domain %q of %q is not canonical: %q, %v", domain, addr, again, err)
		}
		if again, err := Normalize(norm); err != nil || again != norm {
			t.Fatalf("Normalize not idempotent: %q -> %q -> %q (%v)", addr, norm, again, err)
		}
		if Domain(addr) != domain {
			t.Fatalf("Domain(%q) = %q, want %q", addr, Domain(addr), domain)
		}
	})
}

// FuzzCheckDomain: never panics; an accepted domain is ASCII letters,
// digits and hyphens in dot-separated labels, at least two of them.
func FuzzCheckDomain(f *testing.F) {
	for _, s := range []string{"example.net", "a.b", "localhost", "-a.example", "a-.example", "a..example", "", ".", "xn--bcher-kva.example", "a_b.example", "bücher.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, d string) {
		if CheckDomain(d) != nil {
			return
		}
		labels := strings.Split(d, ".")
		if len(labels) < 2 || len(d) > 253 {
			t.Fatalf("accepted %q", d)
		}
		for _, lb := range labels {
			if lb == "" || len(lb) > 63 || lb[0] == '-' || lb[len(lb)-1] == '-' || strings.Trim(lb, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
				t.Fatalf("accepted %q with label %q", d, lb)
			}
		}
	})
}

func TestSplit(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"alice@example.net", "alice@example.net"},
		{"Alice.Smith+Tag@Mail.Example.NET.", "alice.smith+tag@mail.example.net"},
		{"o'brien@example.net", "o'brien@example.net"},
		{strings.Repeat("a", 64) + "@example.net", strings.Repeat("a", 64) + "@example.net"},
		// RFC 2505 §2.1 routing syntax and what it hides behind.
		{"u%v@example.net", ""},
		{"u!v@example.net", ""},
		{"host!u@example.net", ""},
		{"a@b@example.net", ""},
		{"@relay.example:u@example.net", ""},
		{"\"u@v\"@example.net", ""},
		{"\"u\"@example.net", ""},
		// Shape.
		{"alice", ""}, {"@example.net", ""}, {"alice@", ""}, {"alice@localhost", ""},
		{".a@example.net", ""}, {"a.@example.net", ""}, {"a..b@example.net", ""},
		{"a b@example.net", ""}, {"a@exa mple.net", ""}, {"a@[192.0.2.1]", ""}, {"<a@example.net>", ""},
		{"a@-x.example", ""}, {"a@x..example", ""}, {"a@x_y.example", ""},
		{strings.Repeat("a", 65) + "@example.net", ""},
		{"a@" + strings.Repeat("b", 64) + ".example", ""},
		// RFC 6532 §3.1: UTF-8 only; limits hold after lower-casing.
		{"\xa5@example.net", ""},
		{"a@b\xff.example", ""},
		{strings.Repeat("Ⱥ", 32) + "@example.net", ""},
		// RFC 5890 §2.3.2.1: a U-label domain is stored as its A-label.
		{"Ünïcode@Bücher.Example", "ünïcode@xn--bcher-kva.example"},
		{"a@XN--BCHER-KVA.example", "a@xn--bcher-kva.example"},
		{"a@xn--garbage.example", ""},
	} {
		got, err := Normalize(c.in)
		if c.want == "" {
			if err == nil {
				t.Errorf("Normalize(%q) = %q, want an error", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Normalize(%q) = %q, %v, want %q", c.in, got, err, c.want)
		}
	}
}
