package config

import (
	"strings"
	"testing"
	"time"
)

func TestAuthAndPublishSections(t *testing.T) {
	c, err := Load(write(t, "hostname = \"mx1.isp.example\"\n[auth]\ntemperror = \"defer\"\n[publish]\noutbound_ips = [\"192.0.2.0/28\", \"2001:db8::25\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Auth.Enabled || c.Auth.TempError != "defer" || c.Auth.DMARCReject != "reject" || c.Auth.Timeout != 20*time.Second || c.AuthservID() != "mx1.isp.example" {
		t.Fatalf("auth = %+v, authserv-id %q", c.Auth, c.AuthservID())
	}
	if len(c.Publish.OutboundIPs) != 2 || c.Publish.DMARCPolicy != "quarantine" || c.Publish.MTASTSMode != "testing" {
		t.Fatalf("publish = %+v", c.Publish)
	}
	for body, key := range map[string]string{
		"[auth]\ntemperror = \"bounce\"\n":             "auth.temperror",
		"[auth]\ndmarc_reject = \"none\"\n":            "auth.dmarc_reject",
		"[auth]\nauthserv_id = \"a b\"\n":              "auth.authserv_id",
		"[auth]\ntimeout = \"10ms\"\n":                 "auth.timeout",
		"[publish]\noutbound_ips = [\"mail.isp\"]\n":   "publish.outbound_ips",
		"[publish]\ndmarc_policy = \"strict\"\n":       "publish.dmarc_policy",
		"[publish]\nmta_sts_mode = \"on\"\n":           "publish.mta_sts_mode",
		"[publish]\nreport_mailbox = \"postmaster\"\n": "publish.report_mailbox",
	} {
		if _, err := Load(write(t, body)); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("config %q: error %v does not name %s", body, err, key)
		}
	}
}

func TestDMARCReportsSection(t *testing.T) {
	c, err := Load(write(t, "[dmarc_reports]\nenabled = true\norg_name = \"ISP\"\nfrom = \"dmarc@isp.example\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r := c.DMARCReports; !r.Enabled || r.Interval != 24*time.Hour || r.FlushInterval != time.Minute {
		t.Fatalf("dmarc_reports = %+v", r)
	}
	if Default().DMARCReports.Enabled {
		t.Fatal("dmarc_reports on by default")
	}
	for body, key := range map[string]string{
		"[dmarc_reports]\ninterval = \"10m\"\n":                                      "dmarc_reports.interval",
		"[dmarc_reports]\nflush_interval = \"48h\"\n":                                "dmarc_reports.flush_interval",
		"[dmarc_reports]\nenabled = true\nfrom = \"a@b.example\"\n":                  "dmarc_reports.org_name",
		"[dmarc_reports]\nenabled = true\norg_name = \"x\"\nfrom = \"postmaster\"\n": "dmarc_reports.from",
	} {
		if _, err := Load(write(t, body)); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("config %q: error %v does not name %s", body, err, key)
		}
	}
}

// TestARCTrustedSealers: empty by default; listed domains are compared in
// canonical form (lower case, no trailing dot, A-labels); a name that is
// not a domain, or one listed twice in any spelling, is refused with the
// key and the value.
func TestARCTrustedSealers(t *testing.T) {
	if len(Default().Auth.ARCTrustedSealers) != 0 || Default().ARCTrustedSealers() != nil {
		t.Fatal("trusted ARC sealers by default")
	}
	c, err := Load(write(t, "[auth]\narc_trusted_sealers = [\"Google.COM.\", \"bücher.example\", \"outlook.com\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.ARCTrustedSealers(), " "); got != "google.com xn--bcher-kva.example outlook.com" {
		t.Fatalf("trusted sealers %q", got)
	}
	for body, want := range map[string]string{
		"[auth]\narc_trusted_sealers = [\"google\"]\n":                      `auth.arc_trusted_sealers: domain "google" is not fully qualified`,
		"[auth]\narc_trusted_sealers = [\"a b.example\"]\n":                 `auth.arc_trusted_sealers`,
		"[auth]\narc_trusted_sealers = [\"\"]\n":                            `auth.arc_trusted_sealers`,
		"[auth]\narc_trusted_sealers = [\"google.com\", \"GOOGLE.com.\"]\n": `auth.arc_trusted_sealers: "google.com" is listed twice`,
	} {
		if _, err := Load(write(t, body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("config %q: error %v, want %s", body, err, want)
		}
	}
}
