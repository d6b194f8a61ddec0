package config

import (
	"strings"
	"testing"
	"time"
)

func TestEdgeSection(t *testing.T) {
	c, err := Load(write(t, "[edge]\npoll_interval = \"2s\"\ndnsbl_zone = \"dyn.bl.isp.example\"\ndnsbl_listen = \"192.0.2.53:53\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Edge.MaxExemptPrefixV4 != 24 || c.Edge.MaxExemptPrefixV6 != 48 {
		t.Fatalf("exemption limits default to /%d and /%d, want /24 and /48", c.Edge.MaxExemptPrefixV4, c.Edge.MaxExemptPrefixV6)
	}
	if c.Edge.PollInterval != 2*time.Second || c.Edge.DNSBLZone != "dyn.bl.isp.example" || c.Edge.AttemptWindow != 7*24*time.Hour || c.Edge.ResolveInterval != time.Hour {
		t.Fatalf("edge = %+v", c.Edge)
	}
	for body, key := range map[string]string{
		"[edge]\npoll_interval = \"1ms\"\n":     "edge.poll_interval",
		"[edge]\nattempt_window = \"1s\"\n":     "edge.attempt_window",
		"[edge]\nresolve_interval = \"5s\"\n":   "edge.resolve_interval",
		"[edge]\ndnsbl_listen = \"nope\"\n":     "edge.dnsbl_listen",
		"[edge]\ndnsbl_zone = \"localhost\"\n":  "edge.dnsbl_zone",
		"[edge]\ndnsbl_zones = \"x.example\"\n": "edge.dnsbl_zones",
		"[edge]\nmax_exempt_prefix_v4 = 0\n":    "edge.max_exempt_prefix_v4",
		"[edge]\nmax_exempt_prefix_v4 = 33\n":   "edge.max_exempt_prefix_v4",
		"[edge]\nmax_exempt_prefix_v6 = 129\n":  "edge.max_exempt_prefix_v6",
	} {
		if _, err := Load(write(t, body)); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("config %q: error %v does not name %s", body, err, key)
		}
	}
}
