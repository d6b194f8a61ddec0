package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestEdgeIptablesRender loads `mailgate edge render --format iptables`
// (iptables + ipset) into the router namespace instead of nftables and
// checks the same policy holds with real connections, in both families.
func TestEdgeIptablesRender(t *testing.T) {
	NeedTool(t, "iptables")
	NeedTool(t, "ipset")
	l := newOp25bLab(t)
	n := l.node
	n.MustCLI("", "pool", "add", "dyn-east", "--kind", "dynamic", "10.10.0.0/16", "fd00:10::/32")
	n.MustCLI("", "pool", "add", "fixed", "--kind", "static", "10.10.2.0/24", "fd00:10:2::/48")
	n.MustCLI("", "edge", "relay", "add", l.addr("relay", false), l.addr("relay", true))
	n.MustCLI("", "edge", "exempt", "add", l.addr("exm", false), "--reason", "fixed-IP plan")
	n.MustCLI("", "edge", "exempt", "add", l.addr("exm", true), "--reason", "fixed-IP plan")
	n.MustCLI("", "edge", "carrier", "add", "docomo", "10.20.3.0/24", "fd00:20:3::/48")

	load := func() {
		t.Helper()
		script := filepath.Join(t.TempDir(), "op25b.sh")
		os.WriteFile(script, []byte(n.MustCLI("", "edge", "render", "--format", "iptables")), 0o700)
		if out, err := exec.Command("ip", "netns", "exec", l.router, "sh", script).CombinedOutput(); err != nil {
			t.Fatalf("iptables script: %v\n%s", err, out)
		}
	}
	// phase 2, loaded twice: the script is idempotent
	load()
	load()
	for _, cmd := range []string{"iptables", "ip6tables"} {
		out, err := exec.Command("ip", "netns", "exec", l.router, cmd, "-S", "FORWARD").CombinedOutput()
		if err != nil || strings.Count(string(out), "-j OP25B") != 1 || !strings.Contains(string(out), "--dport 25") {
			t.Fatalf("%s FORWARD after two loads: %v\n%s", cmd, err, out)
		}
	}
	l.commonCases("iptables phase 2")
	l.expect("iptables phase 2", "dyn", "foreign", 25, outRefused)
	l.expect("iptables phase 2", "dyn", "carrier", 25, outRefused)

	// phase 1 by re-rendering: foreign allowed again, carriers still blocked
	n.MustCLI("", "edge", "scope", "carriers")
	load()
	l.expect("iptables phase 1", "dyn", "foreign", 25, "ok")
	l.expect("iptables phase 1", "dyn", "carrier", 25, outRefused)
	l.expect("iptables phase 1", "dyn", "carrier", 465, "ok")
}
