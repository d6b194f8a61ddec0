package authres

import (
	"net/netip"
	"testing"
)

// TestHideSlashes: only an a, mx or exists domain-spec holding "/" gets a
// stand-in name; its cidr-length and qualifier stay, and the stand-in
// maps back to the record's name, or to the expansion of its macros for
// the record's domain.
func TestHideSlashes(t *testing.T) {
	r := &recordingResolver{macros: spfMacros{sender: "a/b@sender.example", helo: "h.example", ip: netip.MustParseAddr("192.0.2.3")}}
	for _, c := range []struct{ rec, want string }{
		{"v=spf1 -a:foo:bar/baz.example.com/24//64 mx:x/y.example.com -all", "v=spf1 -a:n0" + slashNames + "/24//64 mx:n1" + slashNames + " -all"},
		{"v=spf1 a/24 mx:mail.example.com//64 ip4:192.0.2.0/24 -all", "v=spf1 a/24 mx:mail.example.com//64 ip4:192.0.2.0/24 -all"},
		{"v=spf1 a:%{d}/24 mx:%{o}.example/24//64 -all", "v=spf1 a:%{d}/24 mx:%{o}.example/24//64 -all"}, // the library reads these
		{"v=spf1 a:%{d}/x.example.com ~mx:%{l/}.example.com/24//64 exists:%{ir./}.%{d} -all", "v=spf1 a:n2" + slashNames + " ~mx:n3" + slashNames + "/24//64 exists:n4" + slashNames + " -all"},
		{"v=spf1 a:foo/bar.example.com/99 -all", "v=spf1 a:foo/bar.example.com/99 -all"},   // a syntax error: permerror anyway
		{"v=spf1 a:%{d0/}.example.com -all", "v=spf1 a:%{d0/}.example.com -all"},           // no expansion: permerror anyway
		{"v=spf1 include:%{l/}.example.com -all", "v=spf1 include:%{l/}.example.com -all"}, // not rewritten: %{d} there would be the stand-in
	} {
		if got := r.hideSlashes(c.rec, "rec.example"); got != c.want {
			t.Errorf("%q → %q, want %q", c.rec, got, c.want)
		}
	}
	for standIn, want := range map[string]string{
		"N0" + slashNames + ".": "foo:bar/baz.example.com",
		"n1" + slashNames:       "x/y.example.com",
		"n2" + slashNames:       "rec.example/x.example.com",
		"n3" + slashNames:       "a.b.example.com",
		"n4" + slashNames:       "3.2.0.192.rec.example",
		"mail.example.com":      "mail.example.com",
	} {
		if got := r.unhide(standIn); got != want {
			t.Errorf("unhide(%s) = %q, want %q", standIn, got, want)
		}
	}
}

// FuzzHideSlashes: the rewrite never crashes, never touches a record the
// grammar refuses, and what it makes still passes the grammar.
func FuzzHideSlashes(f *testing.F) {
	f.Add("v=spf1 a:foo:bar/baz.example.com -all")
	f.Add("v=spf1 mx:a/b.example.com/24//64 ~all")
	f.Add("v=spf1 a:%{d}/x.example.com")
	f.Fuzz(func(t *testing.T, rec string) {
		r := &recordingResolver{}
		got := r.hideSlashes(rec, "rec.example")
		if checkSPFSyntax(rec) != nil && got != rec {
			t.Fatalf("a bad record was rewritten: %q → %q", rec, got)
		}
		if got != rec && checkSPFSyntax(got) != nil {
			t.Fatalf("%q → %q: %v", rec, got, checkSPFSyntax(got))
		}
	})
}
