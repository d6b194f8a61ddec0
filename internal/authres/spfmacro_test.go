package authres

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// TestSPFMacroExamples: the examples of RFC 7208 §7.4, and the "/"
// delimiter the SPF library cannot read.
func TestSPFMacroExamples(t *testing.T) {
	m := spfMacros{sender: "strong-bad@email.example.com", helo: "mx.example.org", ip: netip.MustParseAddr("192.0.2.3")}
	for in, want := range map[string]string{
		"%{s}":                              "strong-bad@email.example.com",
		"%{o}":                              "email.example.com",
		"%{d}":                              "email.example.com",
		"%{d4}":                             "email.example.com",
		"%{d3}":                             "email.example.com",
		"%{d2}":                             "example.com",
		"%{d1}":                             "com",
		"%{dr}":                             "com.example.email",
		"%{d2r}":                            "example.email",
		"%{l}":                              "strong-bad",
		"%{l-}":                             "strong.bad",
		"%{lr}":                             "strong-bad",
		"%{lr-}":                            "bad.strong",
		"%{l1r-}":                           "strong",
		"%{h}":                              "mx.example.org",
		"%{p}":                              "unknown",
		"%{S}":                              "strong-bad%40email.example.com",
		"%%%_%-":                            "% %20",
		"%{ir}.%{v}._spf.%{d2}":             "3.2.0.192.in-addr._spf.example.com",
		"%{lr-}.lp._spf.%{d2}":              "bad.strong.lp._spf.example.com",
		"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}":   "bad.strong.lp.3.2.0.192.in-addr._spf.example.com",
		"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}":  "3.2.0.192.in-addr.strong.lp._spf.example.com",
		"%{d2}.trusted-domains.example.net": "example.com.trusted-domains.example.net",
	} {
		if got, err := m.expand(in, "email.example.com"); err != nil || got != want {
			t.Errorf("%s → %q, %v; want %q", in, got, err, want)
		}
	}
	m6 := spfMacros{sender: "a/b/c@x.example", ip: netip.MustParseAddr("2001:db8::cb01")}
	for in, want := range map[string]string{
		"%{ir}.%{v}._spf.%{d2}": "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com",
		"%{l/}.%{o}":            "a.b.c.x.example",
		"%{l2r/}":               "b.a",
		"%{l}/x":                "a/b/c/x",
	} {
		if got, err := m6.expand(in, "email.example.com"); err != nil || got != want {
			t.Errorf("%s → %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"%{d0}", "%{c}", "%{x}", "%{d", "%", "%a"} {
		if got, err := m.expand(bad, "email.example.com"); err == nil {
			t.Errorf("%s expanded to %q", bad, got)
		}
	}
	// §7.3: an expansion over 253 characters loses labels on the left.
	long := spfMacros{sender: strings.Repeat("label.", 60) + "x@long.example"}
	if got, _ := long.expand("%{l}.long.example", ""); len(got) > 253 || !strings.HasSuffix(got, ".label.x.long.example") || strings.HasPrefix(got, ".") {
		t.Errorf("long expansion: %d characters: %q", len(got), got)
	}
}

// TestSPFMacroTargetsWithSlashes: an a, mx or exists target holding a
// macro and a "/" (a "/" delimiter, a literal "/", a cidr-length after
// it) is expanded for the record's own domain and the cidr-length applies
// to its answer (RFC 7208 §5.3, §5.4, §5.7, §7); the lookups count toward
// the limit of 10 (§4.6.4). The SPF library alone gives permerror for
// every one of them.
func TestSPFMacroTargetsWithSlashes(t *testing.T) {
	var many []string
	for i := range 11 {
		many = append(many, fmt.Sprintf("a:%%{d}/n%d.test", i))
	}
	r := zoneResolver(t, `
d1.test. 60 IN TXT "v=spf1 a:%{d}/24 -all"
d1.test. 60 IN A 192.0.2.1
d2.test. 60 IN TXT "v=spf1 mx:%{o}.example.test/24//64 -all"
d2.test.example.test. 60 IN MX 10 mx.d2.test.
mx.d2.test. 60 IN A 192.0.2.1
mx.d2.test. 60 IN AAAA 2001:db8::1
d3.test. 60 IN TXT "v=spf1 a:%{d}/x.example.test -all"
d3.test/x.example.test. 60 IN A 192.0.2.1
d4.test. 60 IN TXT "v=spf1 -a:%{l/}.d4.test/24 mx:%{d}/mx.d4.test//64 +all"
a.b.d4.test. 60 IN A 192.0.2.1
d4.test/mx.d4.test. 60 IN MX 10 mx.d2.test.
d5.test. 60 IN TXT "v=spf1 exists:%{ir./}.%{l/}.d5.test -all"
1.2.0.192.a.b.d5.test. 60 IN A 127.0.0.2
d6.test. 60 IN TXT "v=spf1 include:inc.d6.test -all"
inc.d6.test. 60 IN TXT "v=spf1 a:%{d}/x.example.test/24 -all"
inc.d6.test/x.example.test. 60 IN A 192.0.2.1
d7.test. 60 IN TXT "v=spf1 `+strings.Join(many, " ")+` +all"
`)
	for _, c := range []struct{ ip, from, want string }{
		{"192.0.2.77", "x@d1.test", "pass"}, // a:%{d}/24: d1.test's A, /24
		{"198.51.100.1", "x@d1.test", "fail"},
		{"192.0.2.77", "x@d2.test", "pass"}, // mx:%{o}.example.test/24//64
		{"2001:db8::77", "x@d2.test", "pass"},
		{"2001:db8:1::1", "x@d2.test", "fail"},
		{"192.0.2.1", "x@d3.test", "pass"}, // a literal "/" after the macro
		{"192.0.2.2", "x@d3.test", "fail"},
		{"192.0.2.77", "a/b@d4.test", "fail"}, // %{l/}: a.b.d4.test, /24, "-"
		{"192.0.3.77", "a/b@d4.test", "pass"},
		{"2001:db8::77", "a/b@d4.test", "pass"}, // mx:%{d}/mx.d4.test//64
		{"192.0.2.1", "a/b@d5.test", "pass"},    // exists:%{ir./}.%{l/}.d5.test
		{"192.0.2.2", "a/b@d5.test", "fail"},
		{"192.0.2.77", "x@d6.test", "pass"},      // %{d} is the included domain
		{"192.0.2.77", "x@d7.test", "permerror"}, // 11 lookups
	} {
		res := CheckSPF(context.Background(), r, netip.MustParseAddr(c.ip), "h.test", c.from)
		if res.Result != c.want {
			t.Errorf("%s from %s: %s (%s), want %s", c.from, c.ip, res.Result, res.Problem, c.want)
		}
		if c.want == "permerror" && !strings.Contains(res.Problem, "lookup") {
			t.Errorf("%s: permerror for %q, want the lookup limit", c.from, res.Problem)
		}
	}
}

// FuzzSPFMacroExpand: expansion never crashes, takes every macro-string
// the grammar takes but a part count of 0, and never gives a name over
// 253 characters that still has a label to drop.
func FuzzSPFMacroExpand(f *testing.F) {
	f.Add("%{ir}.%{v}._spf.%{d2}", "strong-bad@email.example.com")
	f.Add("%{l/}.%{o}/x", "a/b@c.example")
	f.Add("%{S}%%%_%-%{L2r+/}", "a+b/c@d")
	f.Fuzz(func(t *testing.T, spec, sender string) {
		m := spfMacros{sender: sender, helo: "h.example", ip: netip.MustParseAddr("2001:db8::1")}
		got, err := m.expand(spec, "d.example")
		if err == nil && len(got) > 253 && strings.Contains(got, ".") {
			t.Fatalf("%q → %d characters", spec, len(got))
		}
		if err != nil && checkMacroString(spec, false) == nil && !strings.Contains(spec, "0") {
			t.Fatalf("%q: the grammar takes it, expansion says %v", spec, err)
		}
	})
}
