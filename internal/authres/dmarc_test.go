package authres

import (
	"context"
	"testing"
)

func TestOrgDomain(t *testing.T) {
	for in, want := range map[string]string{
		"mail.example.com":  "example.com",
		"a.b.example.co.uk": "example.co.uk",
		"example.com.":      "example.com",
		"co.uk":             "co.uk", // a public suffix is its own
		"x.sender.test":     "sender.test",
		"MAIL.Example.COM":  "example.com",
		"foo.bar.github.io": "bar.github.io", // private suffixes count (§3.2)
	} {
		if got := OrgDomain(in); got != want {
			t.Errorf("OrgDomain(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDMARC: alignment (relaxed, strict), policy discovery at the
// organizational domain with sp=, pct= sampling, and the results that
// apply no policy (no record, two records, a broken record, DNS failure).
func TestDMARC(t *testing.T) {
	r := zoneResolver(t, `
_dmarc.reject.test. 60 IN TXT "v=DMARC1; p=reject; sp=quarantine"
_dmarc.strict.test. 60 IN TXT "v=DMARC1; p=reject; adkim=s; aspf=s"
_dmarc.pct.test. 60 IN TXT "v=DMARC1; p=reject; pct=20"
_dmarc.two.test. 60 IN TXT "v=DMARC1; p=reject"
_dmarc.two.test. 60 IN TXT "v=DMARC1; p=none"
_dmarc.broken.test. 60 IN TXT "v=DMARC1; p=bounce"
_dmarc.other.test. 60 IN TXT "spf2.0/pra"
_dmarc.dns.servfail. 60 IN TXT "v=DMARC1; p=reject"
`)
	ctx := context.Background()
	spfPass := func(d string) SPF { return SPF{Result: "pass", Domain: d} }
	dkimPass := func(d string) []DKIM { return []DKIM{{Result: "pass", Domain: d}} }
	never := func() int { t.Fatal("pct sampled without pct<100"); return 0 }
	cases := []struct {
		name, from        string
		spf               SPF
		dkim              []DKIM
		sample            func() int
		result, policy, d string
	}{
		{"spf aligned relaxed", "reject.test", spfPass("bounce.reject.test"), nil, never, "pass", "reject", "none"},
		{"dkim aligned relaxed", "news.reject.test", SPF{Result: "fail"}, dkimPass("reject.test"), never, "pass", "quarantine", "none"},
		{"nothing aligned", "reject.test", spfPass("other.test"), dkimPass("other.test"), never, "fail", "reject", "reject"},
		{"dkim fail does not count", "reject.test", SPF{Result: "none"}, []DKIM{{Result: "fail", Domain: "reject.test"}}, never, "fail", "reject", "reject"},
		{"subdomain gets sp=", "x.reject.test", SPF{Result: "none"}, nil, never, "fail", "quarantine", "quarantine"},
		{"strict spf needs the same name", "strict.test", spfPass("mail.strict.test"), nil, never, "fail", "reject", "reject"},
		{"strict dkim exact", "strict.test", SPF{}, dkimPass("strict.test"), never, "pass", "reject", "none"},
		{"pct sampled in", "pct.test", SPF{}, nil, func() int { return 19 }, "fail", "reject", "reject"},
		{"pct sampled out: next weaker", "pct.test", SPF{}, nil, func() int { return 20 }, "fail", "reject", "quarantine"},
		{"no record", "nodmarc.test", SPF{}, nil, never, "none", "", "none"},
		{"not a DMARC record", "other.test", SPF{}, nil, never, "none", "", "none"},
		{"two records: none applies", "two.test", SPF{}, nil, never, "none", "", "none"},
		{"broken record", "broken.test", SPF{}, nil, never, "permerror", "", "none"},
		{"DNS failure", "dns.servfail", SPF{}, nil, never, "temperror", "", "none"},
		{"aligned SPF temperror", "reject.test", SPF{Result: "temperror", Domain: "reject.test"}, nil, never, "temperror", "reject", "none"},
	}
	for _, c := range cases {
		got := CheckDMARC(ctx, r, c.from, c.spf, c.dkim, c.sample)
		if got.Result != c.result || got.Policy != c.policy || got.Disposition != c.d {
			t.Errorf("%s: %+v, want result %s policy %q disposition %s", c.name, got, c.result, c.policy, c.d)
		}
	}
}
