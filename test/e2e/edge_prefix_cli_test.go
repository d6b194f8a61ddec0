package e2e

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// edgePolicyState is what the edge commands show of the policy; a refused
// command must leave it as it was.
func edgePolicyState(n *Node) string {
	return n.MustCLI("", "pool", "export") + n.MustCLI("", "edge", "exempt", "list") +
		n.MustCLI("", "edge", "relay", "list") + n.MustCLI("", "edge", "carrier", "list")
}

// edgeFails runs an edge or pool command that must exit 1 with a message
// containing want and change nothing.
func edgeFails(t *testing.T, n *Node, want string, args ...string) {
	t.Helper()
	before := edgePolicyState(n)
	out, err := n.CLI("", args...)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(out, want) {
		t.Errorf("mailgate %s: %v, want exit 1 saying %q:\n%s", strings.Join(args, " "), err, want, out)
	}
	if after := edgePolicyState(n); after != before {
		t.Errorf("mailgate %s failed but changed the policy:\n%s\n->\n%s", strings.Join(args, " "), before, after)
	}
}

// Issue 15 §4: `edge exempt add 0.0.0.0/0` turned OP25B off for every
// subscriber without a word, and 10.1.2.3/8 was silently taken as
// 10.0.0.0/8 in exemptions and pools alike.
func TestEdgeCLIRefusesWideExemptionsAndHostBits(t *testing.T) {
	n := NewNode(t, "", "")
	n.MustCLI("", "pool", "add", "dyn", "--kind", "dynamic", "10.0.0.0/8", "2001:db8::/32")
	for _, p := range []string{"0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/23", "::/0", "2001:db8::/47"} {
		edgeFails(t, n, "give --force if the whole prefix is meant", "edge", "exempt", "add", p, "--reason", "oops")
	}
	if out := n.MustCLI("", "edge", "exempt", "add", "10.1.2.0/24", "--reason", "fixed-IP business plan"); out != "exemption 10.1.2.0/24 added\n" {
		t.Errorf("a /24 exemption: %q", out)
	}
	n.MustCLI("", "edge", "exempt", "add", "2001:db8:1::/48", "--reason", "fixed-IP business plan")
	n.MustCLI("", "edge", "exempt", "add", "0.0.0.0/0", "--reason", "OP25B off for a migration", "--force")
	if out := n.MustCLI("", "edge", "exempt", "list"); !strings.Contains(out, "0.0.0.0/0") {
		t.Errorf("forced exemption not listed:\n%s", out)
	}
	n.MustCLI("", "edge", "exempt", "remove", "0.0.0.0/0")

	// The limit is a setting.
	wide := NewNode(t, "", "[edge]\nmax_exempt_prefix_v4 = 16\n")
	wide.MustCLI("", "edge", "exempt", "add", "10.1.0.0/16", "--reason", "whole business park")
	edgeFails(t, wide, "wider than /16, the widest allowed ([edge] max_exempt_prefix_v4)", "edge", "exempt", "add", "10.0.0.0/15", "--reason", "oops")

	// Host bits: refused everywhere, naming both readings.
	const hostBits = "host bits set; write the network 10.0.0.0/8, or the address 10.1.2.3 alone"
	edgeFails(t, n, hostBits, "edge", "exempt", "add", "10.1.2.3/8", "--reason", "typo", "--force")
	edgeFails(t, n, hostBits, "pool", "add", "dyn2", "--kind", "dynamic", "10.1.2.3/8")
	edgeFails(t, n, hostBits, "edge", "relay", "add", "10.1.2.3/8")
	edgeFails(t, n, hostBits, "edge", "carrier", "add", "docomo", "10.1.2.3/8")
	edgeFails(t, n, "host bits set; write the network 2001:db8::/32", "pool", "add", "dyn2", "--kind", "dynamic", "2001:db8::1/32")
	csv := filepath.Join(t.TempDir(), "pools.csv")
	os.WriteFile(csv, []byte("dyn2,dynamic,10.1.2.3/8\n"), 0o600)
	edgeFails(t, n, "row 1: "+`prefix "10.1.2.3/8": invalid: `+hostBits, "pool", "import", csv)
}

// Issue 15 §4: a pool CSV saved by a spreadsheet ("CSV UTF-8") starts
// with a byte-order mark; `pool import` failed on it with a misleading error.
func TestPoolImportCSVWithByteOrderMark(t *testing.T) {
	n := NewNode(t, "", "")
	csv := filepath.Join(t.TempDir(), "pools.csv")
	os.WriteFile(csv, []byte("\xef\xbb\xbfpool,kind,prefix\r\ndyn,dynamic,10.1.0.0/16\r\nfixed,static,10.1.5.0/24\r\n"), 0o600)
	if out := n.MustCLI("", "pool", "import", csv); !strings.Contains(out, "2 rows read, 2 prefixes added") {
		t.Fatalf("import said:\n%s", out)
	}
	if got := n.MustCLI("", "pool", "export"); got != "pool,kind,prefix\ndyn,dynamic,10.1.0.0/16\nfixed,static,10.1.5.0/24\n" {
		t.Fatalf("export after import:\n%q", got)
	}
}
