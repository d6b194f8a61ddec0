package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// TestSRSBounceRates: 100 an hour per destination domain and per client
// by default; "N/second|minute|hour" and "off" read; anything else is an
// error naming the value and what to write.
func TestSRSBounceRates(t *testing.T) {
	c, err := Load(write(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if c.SRS.BounceRate != (Rate{Max: 100, Per: time.Hour}) || c.SRS.BounceRatePerIP != (Rate{Max: 100, Per: time.Hour}) {
		t.Fatalf("defaults: %v, %v", c.SRS.BounceRate, c.SRS.BounceRatePerIP)
	}
	c, err = Load(write(t, "[srs]\nbounce_rate = \"5/Minute\"\nbounce_rate_per_ip = \"off\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.SRS.BounceRate != (Rate{Max: 5, Per: time.Minute}) || !c.SRS.BounceRatePerIP.Off() || c.SRS.BounceRate.String() != "5/minute" {
		t.Fatalf("set: %v, %v", c.SRS.BounceRate, c.SRS.BounceRatePerIP)
	}
	for _, v := range []string{"100", "0/hour", "-1/hour", "100/day", "100/fortnight", "many/hour", ""} {
		_, err := Load(write(t, "[srs]\nbounce_rate = \""+v+"\"\n"))
		if err == nil || !strings.Contains(err.Error(), "srs.bounce_rate") || !strings.Contains(err.Error(), `("100/hour"), or "off"`) {
			t.Errorf("%q: got %v, want an error naming srs.bounce_rate and the form", v, err)
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
