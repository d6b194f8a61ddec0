package authres

import "testing"

// TestHideSlashes: only a literal a/mx domain-spec holding "/" gets a
// stand-in name; its CIDR length and qualifier stay, and the stand-in
// maps back to the record's name.
func TestHideSlashes(t *testing.T) {
	r := &recordingResolver{}
	for rec, want := range map[string]string{
		"v=spf1 -a:foo:bar/baz.example.com/24//64 mx:x/y.example.com -all": "v=spf1 -a:n0" + slashNames + "/24//64 mx:n1" + slashNames + " -all",
		"v=spf1 a/24 mx:mail.example.com//64 ip4:192.0.2.0/24 -all":        "v=spf1 a/24 mx:mail.example.com//64 ip4:192.0.2.0/24 -all",
		"v=spf1 a:%{d}/x.example.com -all":                                 "v=spf1 a:%{d}/x.example.com -all",     // a macro: the library expands it
		"v=spf1 a:foo/bar.example.com/99 -all":                             "v=spf1 a:foo/bar.example.com/99 -all", // a syntax error: permerror anyway
	} {
		if got := r.hideSlashes(rec); got != want {
			t.Errorf("%q → %q, want %q", rec, got, want)
		}
	}
	if got := r.unhide("N0" + slashNames + "."); got != "foo:bar/baz.example.com" {
		t.Errorf("unhide n0 = %q", got)
	}
	if got := r.unhide("n1" + slashNames); got != "x/y.example.com" {
		t.Errorf("unhide n1 = %q", got)
	}
	if got := r.unhide("mail.example.com"); got != "mail.example.com" {
		t.Errorf("unhide of a real name = %q", got)
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
		got := r.hideSlashes(rec)
		if checkSPFSyntax(rec) != nil && got != rec {
			t.Fatalf("a bad record was rewritten: %q → %q", rec, got)
		}
		if got != rec && checkSPFSyntax(got) != nil {
			t.Fatalf("%q → %q: %v", rec, got, checkSPFSyntax(got))
		}
	})
}
