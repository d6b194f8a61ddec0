package dmarcreport

import (
	"reflect"
	"strings"
	"testing"
)

// TestParseRUA: sizes with and without units (RFC 7489 §6.4, powers of
// two), several URIs, a percent-encoded "!" in the address; non-mailto
// schemes, unreadable sizes and non-addresses are skipped.
func TestParseRUA(t *testing.T) {
	got := ParseRUA([]string{
		"mailto:dmarc@a.example",
		"mailto:big@b.example!10m",
		" mailto:small@c.example!500 ",
		"mailto:k@d.example!2k",
		"mailto:g@e.example!1g",
		"https://reports.example/dmarc",
		"mailto:bad@f.example!10x",
		"mailto:bad@g.example!",
		"mailto:not-an-address",
		"mailto:we%21rd@h.example!1t",
		"MAILTO:upper@i.example?subject=x",
		"",
	})
	want := []Destination{
		{"dmarc@a.example", 0},
		{"big@b.example", 10 << 20},
		{"small@c.example", 500},
		{"k@d.example", 2048},
		{"g@e.example", 1 << 30},
		{"we!rd@h.example", 1 << 40},
		{"upper@i.example", 0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ParseRUA:\n got %+v\nwant %+v", got, want)
	}
	if d := (Destination{Address: "x@Reports.EXAMPLE"}).Domain(); d != "reports.example" {
		t.Fatalf("Domain: %q", d)
	}
}

// FuzzParseRUA: any rua= list parses without a panic into addresses
// that hold an "@" and sizes that are not negative.
func FuzzParseRUA(f *testing.F) {
	for _, s := range []string{"mailto:a@b.example!10m", "mailto:a@b!", "mailto:%zz@b", "mailto:a@b!99999999999999999999t", "http://x", "mailto:<a@b>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, d := range ParseRUA(strings.Split(s, ",")) {
			if !strings.Contains(d.Address, "@") || d.MaxBytes < 0 {
				t.Fatalf("%q: %+v", s, d)
			}
		}
	})
}
