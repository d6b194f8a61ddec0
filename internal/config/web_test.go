package config

import (
	"strings"
	"testing"
)

func TestWebSection(t *testing.T) {
	c, err := Load(write(t, "[listen]\nhttps = \"127.0.0.1:9443\"\n[web]\nclient_host = \"gw.{domain}\"\nprobe_allow = [\"127.0.0.0/8\"]\n[web.probe_ports]\nsubmission = 2587\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen.HTTPS != "127.0.0.1:9443" || c.ClientHostFor("Example.JP") != "gw.example.jp" || c.Web.ProbePorts != (ProbePorts{2587, 465, 25}) || c.Web.ProbePerHour != 20 {
		t.Fatalf("web = %+v", c.Web)
	}
	if d := Default(); d.ClientHostFor("example.jp") != d.Hostname || d.Listen.HTTPS != "127.0.0.1:8443" {
		t.Fatalf("defaults: %q %q", d.ClientHostFor("example.jp"), d.Listen.HTTPS)
	}
	for body, key := range map[string]string{
		"[web]\nprobe_allow = [\"127.0.0.1\"]\n": "web.probe_allow",
		"[web]\nmetrics_allow = [\"nope\"]\n":    "web.metrics_allow",
		"[web]\nprobe_per_hour = 0\n":            "web.probe_per_hour",
		"[web]\nsession_lifetime = \"1s\"\n":     "web.session_lifetime",
		"[web]\noperators = [\"admin\"]\n":       "web.operators",
		"[web]\nclient_host = \"gw example\"\n":  "web.client_host",
		"[web.probe_ports]\nmx = 70000\n":        "web.probe_ports.mx",
		"[listen]\nhttps = \"8443\"\n":           "listen.https",
	} {
		if _, err := Load(write(t, body)); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("config %q: error %v does not name %s", body, err, key)
		}
	}
}
