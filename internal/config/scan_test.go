package config

import (
	"strings"
	"testing"
)

// TestScanDefaultsScanNothing: no endpoint, nothing scanned; the policies
// are the documented ones (virus down: tempfail; spam down: accept).
func TestScanDefaultsScanNothing(t *testing.T) {
	s := Default().Scan
	if s.Clamd != "" || s.Rspamd != "" || s.RspamdController != "" {
		t.Fatalf("a scanner configured by default: %+v", s)
	}
	if s.Virus.OnError != "tempfail" || s.Virus.Oversize != "reject" || s.Spam.OnError != "accept" || s.Spam.Reject ||
		s.Spam.Action != "tag" || s.Spam.Tag != "[SPAM]" {
		t.Fatalf("defaults: %+v", s)
	}
	if got := Default().ScanMaxBytes(); got != Default().Limits.MaxMessageBytes {
		t.Fatalf("scan limit %d, want limits.max_message_bytes", got)
	}
}

func TestScanRefusesWithTheKeyName(t *testing.T) {
	for body, key := range map[string]string{
		"[scan]\nclamd = \"clamd.sock\"\n":        "scan.clamd",
		"[scan]\nrspamd = \"localhost\"\n":        "scan.rspamd",
		"[scan]\nrspamd_controller = \"x\"\n":     "scan.rspamd_controller",
		"[scan]\ntimeout = \"1ms\"\n":             "scan.timeout",
		"[scan]\nmax_bytes = -1\n":                "scan.max_bytes",
		"[scan.virus]\non_error = \"ignore\"\n":   "scan.virus.on_error",
		"[scan.virus]\noversize = \"tempfail\"\n": "scan.virus.oversize",
		"[scan.spam]\non_error = \"drop\"\n":      "scan.spam.on_error",
		"[scan.spam]\naction = \"delete\"\n":      "scan.spam.action",
		"[scan.spam]\ntag = \"\"\n":               "scan.spam.tag",
		"[scan.spam]\nthreshold = -3.0\n":         "scan.spam.threshold",
		"[scan.spam]\nrejekt = true\n":            "scan.spam.rejekt",
	} {
		_, err := Load(write(t, body))
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("config %q: error %v does not name %s", body, err, key)
		}
	}
	c, err := Load(write(t, "[scan]\nclamd = \"/run/clamav/clamd.ctl\"\nrspamd = \"[::1]:11333\"\n"))
	if err != nil || c.Scan.Clamd != "/run/clamav/clamd.ctl" {
		t.Fatalf("socket path and IPv6 host:port: %v", err)
	}
}
