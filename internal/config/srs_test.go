package config

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestSRSSettings(t *testing.T) {
	c, err := Load(write(t, "hostname = \"Mx1.Example.net\"\ndata_dir = \"/var/lib/mg\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.SRS.Enabled || c.SRS.MaxAge != 21 || c.SRSDomain() != "mx1.example.net" || c.SRSSecretFile() != filepath.Join("/var/lib/mg", "srs.secret") {
		t.Fatalf("defaults: %+v, domain %q, secret %q", c.SRS, c.SRSDomain(), c.SRSSecretFile())
	}
	c, err = Load(write(t, "[srs]\nenabled = false\ndomain = \"SRS.example.net.\"\nsecret_file = \"/etc/postsrsd.secret\"\nmax_age = 7\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.SRS.Enabled || c.SRS.MaxAge != 7 || c.SRSDomain() != "srs.example.net" || c.SRSSecretFile() != "/etc/postsrsd.secret" {
		t.Fatalf("set: %+v, domain %q", c.SRS, c.SRSDomain())
	}
	c.SRS.Domain = "bücher.example"
	if c.SRSDomain() != "xn--bcher-kva.example" {
		t.Fatalf("IDN domain %q, want its A-label form", c.SRSDomain())
	}
	for body, key := range map[string]string{
		"[srs]\nmax_age = 0\n":              "srs.max_age",
		"[srs]\nmax_age = 1024\n":           "srs.max_age",
		"[srs]\ndomain = \"a@b.example\"\n": "srs.domain",
		"[srs]\ndomain = \"localhost\"\n":   "srs.domain",
		"[srs]\ndomain = \"a_b.example\"\n": "srs.domain",
	} {
		_, err := Load(write(t, body))
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%q: got %v, want an error naming %s", body, err, key)
		}
	}
}

func TestARCSettings(t *testing.T) {
	c, err := Load(write(t, "hostname = \"mx1.example.net\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.ARC.Seal || !c.ARC.DKIMSign || c.ARCDomain() != "" {
		t.Fatalf("defaults: %+v, domain %q", c.ARC, c.ARCDomain())
	}
	c, err = Load(write(t, "[arc]\nseal = false\ndkim_sign = false\ndomain = \"ISP.example.\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.ARC.Seal || c.ARC.DKIMSign || c.ARCDomain() != "isp.example" {
		t.Fatalf("set: %+v, domain %q", c.ARC, c.ARCDomain())
	}
	for _, body := range []string{"[arc]\ndomain = \"a@b.example\"\n", "[arc]\ndomain = \"localhost\"\n", "[arc]\nseal = \"yes\"\n", "[arc]\nselector = \"s\"\n"} {
		if _, err := Load(write(t, body)); err == nil || !strings.Contains(err.Error(), "arc.") {
			t.Errorf("%q: got %v, want an error naming the arc key", body, err)
		}
	}
}
