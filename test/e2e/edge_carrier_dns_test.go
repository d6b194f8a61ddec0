package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// TestEdgeCarrierDomainsUseConfiguredDNS: every command that resolves a
// carrier domain's MX hosts asks the node's [dns] servers, as edge impact
// does: au.test exists only in the test's DNS server (its MX is
// 198.51.100.25), so `edge check`, `edge render`, `edge carrier list
// --resolve` and the API's /edge/ruleset?resolve=true know that address
// only through [dns]. They failed while these went to /etc/resolv.conf's
// servers (net.DefaultResolver). --resolve=false still counts prefixes
// only.
func TestEdgeCarrierDomainsUseConfiguredDNS(t *testing.T) {
	NeedTool(t, "curl")
	d := startDNS(t, "au.test. 60 IN MX 10 mx.au.test.", "mx.au.test. 60 IN A 198.51.100.25")
	n := webNode(t, fmt.Sprintf("[dns]\nservers = [%q]\ntimeout = \"2s\"\n", d.Addr))
	n.Start()
	n.MustCLI("", "pool", "add", "dyn-east", "--kind", "dynamic", "10.10.0.0/16")
	n.MustCLI("", "edge", "carrier", "add", "au", "au.test")
	n.MustCLI("", "edge", "scope", "carriers")

	out := n.MustCLI("", "edge", "check", "10.10.0.5", "198.51.100.25")
	if !strings.HasPrefix(out, "block\n") || !strings.Contains(out, "carrier set au") {
		t.Errorf("edge check to au.test's MX:\n%s", out)
	}
	if out := n.MustCLI("", "edge", "check", "--resolve=false", "10.10.0.5", "198.51.100.25"); !strings.HasPrefix(out, "allow\n") {
		t.Errorf("edge check --resolve=false to au.test's MX:\n%s", out)
	}
	if out := n.MustCLI("", "edge", "render"); !strings.Contains(out, "198.51.100.25") {
		t.Errorf("edge render lacks au.test's MX 198.51.100.25:\n%s", out)
	}
	if out := n.MustCLI("", "edge", "carrier", "list", "--resolve"); !strings.Contains(out, "MX mx.au.test 198.51.100.25") {
		t.Errorf("edge carrier list --resolve:\n%s", out)
	}

	reader := strings.TrimSpace(n.MustCLI("", "api", "token", "add", "monitor", "--scope", "read"))
	api := "https://" + n.Addr("https") + "/api/v1/edge/ruleset"
	code, resp := curl(t, "-H", "Authorization: Bearer "+reader, api+"?resolve=true")
	if code != 200 || !strings.Contains(resp, "198.51.100.25") {
		t.Errorf("ruleset?resolve=true: %d, want au.test's MX 198.51.100.25\n%s", code, resp)
	}
	if code, resp := curl(t, "-H", "Authorization: Bearer "+reader, api); code != 200 || strings.Contains(resp, "198.51.100.25") {
		t.Errorf("ruleset without resolve: %d, want no carrier-domain address\n%s", code, resp)
	}
}
