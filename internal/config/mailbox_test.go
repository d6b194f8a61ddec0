package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "unlimited": 0, "1048576": 1 << 20, "2GiB": 2 << 30, "2gib": 2 << 30, "500MB": 500e6,
		"10M": 10 << 20, "1 KiB": 1024, "3k": 3072, "7B": 7, " 1TB ": 1e12,
	} {
		if got, err := ParseByteSize(in); err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "GiB", "1.5GiB", "12x", "99999999999TiB"} {
		if got, err := ParseByteSize(bad); err == nil {
			t.Errorf("ParseByteSize(%q) = %d, want an error", bad, got)
		}
	}
	for n, want := range map[int64]string{0: "0", 1000: "1000", 2 << 30: "2GiB", 1536 << 10: "1536KiB"} {
		if got := FormatByteSize(n); got != want {
			t.Errorf("FormatByteSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func FuzzParseByteSize(f *testing.F) {
	for _, s := range []string{"0", "2GiB", "500MB", "unlimited", "-1", "9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := ParseByteSize(s); err == nil && n < 0 {
			t.Fatalf("ParseByteSize(%q) = %d", s, n)
		}
	})
}

func TestMailboxQuotaConfig(t *testing.T) {
	c := Default()
	if c.Mailbox.Quota != 0 || c.Mailbox.QuotaFull != QuotaFullDefer {
		t.Fatalf("default [mailbox] = %+v, want unlimited and defer", c.Mailbox)
	}
}

func TestMailboxQuotaLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(p, []byte("[mailbox]\nquota = \"2GiB\"\nquota_full = \"reject\"\n"), 0o600)
	c, err := Load(p)
	if err != nil || c.Mailbox.Quota != 2<<30 || c.Mailbox.QuotaFull != QuotaFullReject {
		t.Fatalf("Load: %+v, %v", c.Mailbox, err)
	}
	os.WriteFile(p, []byte("[mailbox]\nquota_full = \"bounce\"\n"), 0o600)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "mailbox.quota_full") {
		t.Fatalf("bad quota_full: %v", err)
	}
	os.WriteFile(p, []byte("[mailbox]\nquota = \"lots\"\n"), 0o600)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "lots") {
		t.Fatalf("bad quota: %v", err)
	}
}

func TestMailboxQuotaWarningsLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.toml")
	os.WriteFile(p, []byte("[mailbox]\nquota_warnings = [80, 95]\nquota_warning_from = \"quota@isp.example\"\n"), 0o600)
	c, err := Load(p)
	if err != nil || !slices.Equal(c.Mailbox.QuotaWarnings, []int{80, 95}) || c.Mailbox.QuotaWarningFrom != "quota@isp.example" {
		t.Fatalf("Load: %+v, %v", c.Mailbox, err)
	}
	if d := Default(); len(d.Mailbox.QuotaWarnings) != 0 {
		t.Fatalf("default quota_warnings %v, want none", d.Mailbox.QuotaWarnings)
	}
	for _, bad := range []string{"quota_warnings = [0]", "quota_warnings = [101]", "quota_warnings = [95, 80]", "quota_warnings = [80, 80]", `quota_warning_from = "Quota <q@isp.example>"`, `quota_warning_from = "nobody"`} {
		os.WriteFile(p, []byte("[mailbox]\n"+bad+"\n"), 0o600)
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "mailbox.quota_warning") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
