package mtasts

import (
	"testing"
	"time"
)

func TestParsePolicy(t *testing.T) {
	p, err := Parse([]byte("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 86400\r\nextra: ignored\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Mode != Enforce || p.MaxAge != 24*time.Hour || len(p.MX) != 2 {
		t.Fatalf("%+v", p)
	}
	for host, want := range map[string]bool{
		"mail.example.com": true, "MAIL.example.com.": true, "other.example.com": false,
		"a.example.net": true, "a.b.example.net": false, "example.net": false,
	} {
		if got := p.Match(host); got != want {
			t.Errorf("Match(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestParsePolicyRejects(t *testing.T) {
	for name, in := range map[string]string{
		"no version":   "mode: enforce\nmx: a\nmax_age: 1\n",
		"bad version":  "version: STSv2\nmode: enforce\nmx: a\nmax_age: 1\n",
		"bad mode":     "version: STSv1\nmode: strict\nmx: a\nmax_age: 1\n",
		"enforce noMX": "version: STSv1\nmode: enforce\nmax_age: 1\n",
		"no max_age":   "version: STSv1\nmode: testing\nmx: a\n",
		"bad max_age":  "version: STSv1\nmode: testing\nmx: a\nmax_age: -3\n",
		"not k:v":      "version: STSv1\ngarbage\n",
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("%s: accepted %q", name, in)
		}
	}
}

func TestParseTXT(t *testing.T) {
	if id, err := ParseTXT("v=STSv1; id=20240101T000000"); err != nil || id != "20240101T000000" {
		t.Errorf("id %q err %v", id, err)
	}
	for _, bad := range []string{"v=STSv2; id=1", "v=STSv1;", "v=STSv1; id=a-b", "v=STSv1; id=" + string(make([]byte, 40))} {
		if _, err := ParseTXT(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("version: STSv1\nmode: enforce\nmx: *.a.b\nmax_age: 604800\n"))
	f.Add([]byte("version: STSv1\r\nmode: none\r\nmax_age: 99999999999\r\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			return
		}
		if p.MaxAge < 0 || p.MaxAge > maxMaxAge*time.Second {
			t.Fatalf("max_age %v out of range", p.MaxAge)
		}
		if p.Mode == Enforce && len(p.MX) == 0 {
			t.Fatal("enforce without mx")
		}
		for _, mx := range p.MX {
			p.Match(mx)
		}
	})
}
