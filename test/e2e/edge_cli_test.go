package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestEdgeCLIForms runs the exact command forms operators script against
// (issue 5 §1, §2, §5) and checks their output.
func TestEdgeCLIForms(t *testing.T) {
	n := NewNode(t, "", "")
	dir := t.TempDir()
	has := func(out string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
	}

	has(n.MustCLI("", "pool", "add", "dyn-east", "--kind", "dynamic", "10.10.0.0/16", "2001:db8:10::/48"), "pool dyn-east (dynamic): 2 prefixes added")
	csv := filepath.Join(dir, "pools.csv")
	os.WriteFile(csv, []byte("fixed,static,10.10.5.0/24\nfixed,static,10.10.6.0/24\ndyn-west,dynamic,10.20.0.0/16\n"), 0o600) // no header
	has(n.MustCLI("", "pool", "import", csv), "3 rows read, 3 prefixes added")
	tomlFile := filepath.Join(dir, "pools.toml")
	os.WriteFile(tomlFile, []byte("[[pool]]\nname = \"mobile\"\nkind = \"dynamic\"\nprefixes = [\"2001:db8:20::/48\"]\n"), 0o600)
	has(n.MustCLI("", "pool", "import", tomlFile), "1 rows read, 1 prefixes added")
	if out, err := n.CLI("", "pool", "add", "other", "--kind", "static", "10.10.0.0/16"); err == nil || !strings.Contains(out, "already belongs to pool dyn-east") {
		t.Errorf("prefix in two pools: %v\n%s", err, out)
	}
	if out, err := n.CLI("", "pool", "add", "x", "10.0.0.0/8"); err == nil || !strings.Contains(out, "--kind") {
		t.Errorf("pool add without --kind: %v\n%s", err, out)
	}
	has(n.MustCLI("", "pool", "list"), "dyn-east  dynamic  2", "fixed     static   2", "mobile    dynamic  1")
	has(n.MustCLI("", "pool", "list", "fixed"), "10.10.5.0/24", "10.10.6.0/24")
	has(n.MustCLI("", "pool", "check"), "overlap: 10.10.5.0/24 (pool fixed, static) inside 10.10.0.0/16 (pool dyn-east, dynamic): static inside dynamic: not filtered", "6 prefixes checked, 2 overlaps, 0 idle exemptions")
	export := n.MustCLI("", "pool", "export")
	if !strings.HasPrefix(export, "pool,kind,prefix\n") || !strings.Contains(export, "dyn-west,dynamic,10.20.0.0/16\n") {
		t.Errorf("export:\n%s", export)
	}
	has(n.MustCLI("", "pool", "export", "--format", "toml", "mobile"), "name = \"mobile\"", "prefixes = [\"2001:db8:20::/48\"]")
	has(n.MustCLI("", "pool", "remove", "dyn-west"), "pool dyn-west removed")
	has(n.MustCLI("", "pool", "remove", "fixed", "10.10.6.0/24"), "1 prefixes removed from pool fixed")
	// the export imports back unchanged into a fresh store
	m := NewNode(t, "", "")
	os.WriteFile(filepath.Join(dir, "export.csv"), []byte(n.MustCLI("", "pool", "export")), 0o600)
	has(m.MustCLI("", "pool", "import", filepath.Join(dir, "export.csv")), "4 rows read, 4 prefixes added")
	if a, b := m.MustCLI("", "pool", "export"), n.MustCLI("", "pool", "export"); a != b {
		t.Errorf("export -> import -> export differs:\n%s\n%s", a, b)
	}

	has(n.MustCLI("", "edge", "relay", "add", "192.0.2.25", "2001:db8::25/128", "198.51.100.0/28"), "3 relays added")
	has(n.MustCLI("", "edge", "relay", "remove", "198.51.100.0/28"), "1 relays removed")
	has(n.MustCLI("", "edge", "relay", "list"), "192.0.2.25/32\n", "2001:db8::25/128\n")
	has(n.MustCLI("", "edge", "exempt", "add", "10.10.7.7", "--reason", "moved to fixed-IP plan", "--until", "2099-03-31"), "exemption 10.10.7.7 added")
	if out, err := n.CLI("", "edge", "exempt", "add", "10.10.7.8"); err == nil || !strings.Contains(out, "--reason") {
		t.Errorf("exemption without reason: %v\n%s", err, out)
	}
	has(n.MustCLI("", "edge", "exempt", "list"), "10.10.7.7/32", "2099-03-", "moved to fixed-IP plan", "cli:")
	n.MustCLI("", "edge", "exempt", "add", "192.0.2.200", "--reason", "typo")
	has(n.MustCLI("", "pool", "check"), "exemption 192.0.2.200/32 has no effect: its address is in no dynamic pool", "1 idle exemptions")
	n.MustCLI("", "edge", "exempt", "remove", "192.0.2.200")
	has(n.MustCLI("", "edge", "carrier", "add", "docomo", "203.0.113.0/24", "docomo.example"), "carrier docomo: 2 entries added")
	has(n.MustCLI("", "edge", "carrier", "list"), "docomo   domain  docomo.example", "docomo   prefix  203.0.113.0/24")
	has(n.MustCLI("", "edge", "carrier", "remove", "docomo", "docomo.example"), "carrier docomo removed")
	has(n.MustCLI("", "edge", "action"), "action reset")
	has(n.MustCLI("", "edge", "action", "icmp"), "action icmp")
	if out, err := n.CLI("", "edge", "action", "tarpit"); err == nil || !strings.Contains(out, "want reset, drop or icmp") {
		t.Errorf("bad action: %v\n%s", err, out)
	}

	// The schedule: phase 1 since a past date, phase 2 from a future one.
	past := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	future := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	has(n.MustCLI("", "edge", "scope", "carriers", "--from", past.Format(time.RFC3339)), "scope carriers (phase 1) from")
	has(n.MustCLI("", "edge", "scope", "all", "--from", future.Format(time.RFC3339)), "scope all (phase 2) from")
	plan := n.MustCLI("", "edge", "plan")
	has(plan, "scope carriers (phase 1), action icmp", past.Format(time.RFC3339)+"  carriers phase 1  [in force]",
		future.Format(time.RFC3339)+"  all      phase 2  [upcoming]", "next change: "+future.Format(time.RFC3339),
		"exemption 10.10.7.7/32 expires (moved to fixed-IP plan)")
	has(n.MustCLI("", "edge", "scope", "list"), "carriers", "all")

	check := func(want string, args ...string) {
		t.Helper()
		out := n.MustCLI("", append([]string{"edge", "check"}, args...)...)
		if first := strings.Fields(out); len(first) == 0 || first[0] != want {
			t.Errorf("edge check %v: first word of %q, want %s", args, out, want)
		}
	}
	check("block", "10.10.1.2", "203.0.113.9") // carrier, phase 1
	check("allow", "10.10.1.2", "192.0.2.99")  // foreign, phase 1
	check("allow", "10.10.1.2", "203.0.113.9", "587")
	check("allow", "10.10.5.2", "203.0.113.9")       // static hole
	check("allow", "10.10.7.7", "203.0.113.9")       // exempted
	check("allow", "2001:db8:10::1", "2001:db8::25") // relay
	has(n.MustCLI("", "edge", "check", "10.10.1.2", "203.0.113.9", "25"), "destination is in carrier set docomo (203.0.113.0/24)", "scope carriers (phase 1 since", "action icmp")
	n.MustCLI("", "edge", "scope", "remove", future.Format(time.RFC3339))
	n.MustCLI("", "edge", "scope", "all")
	check("block", "10.10.1.2", "192.0.2.99")

	has(n.MustCLI("", "edge", "render"), "table inet op25b {", "tcp dport 25 counter jump port25", "reject with icmp type admin-prohibited", "reject with icmpv6 type admin-prohibited")
	has(n.MustCLI("", "edge", "render", "--format", "iptables"), "ipset -exist create op25b-dyn4", "REJECT --reject-with icmp-admin-prohibited")

	// Issue 11 §6: the feed is the DNSBL's space: the static 10.10.5.0/24
	// and the exempted 10.10.7.7 are holes in dyn-east's /16.
	feed := n.MustCLI("", "edge", "feed", "--format", "txt")
	for _, hole := range []string{"10.10.0.0/16", "10.10.5.0", "10.10.7.7"} {
		if strings.Contains(feed, hole) {
			t.Errorf("feed txt lists %s:\n%s", hole, feed)
		}
	}
	has(feed, "\n10.10.0.0/22\n10.10.4.0/24\n10.10.6.0/24\n10.10.7.0/30\n", "\n10.10.7.6/32\n10.10.7.8/29\n", "\n10.10.128.0/17\n", "\n2001:db8:20::/48")
	has(n.MustCLI("", "edge", "feed", "--format", "csv"), "prefix,pool,family,last_change\n10.10.0.0/22,dyn-east,ipv4,")
	var entries []map[string]string
	if err := json.Unmarshal([]byte(n.MustCLI("", "edge", "feed", "--format", "json")), &entries); err != nil || len(entries) != strings.Count(feed, "\n")-1 {
		t.Errorf("feed json: %v %v", entries, err)
	}

	// The DNSBL on a loopback port, asked by a real DNS client.
	port := FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(binary, "-c", n.Config, "edge", "dnsbl", "--listen", addr, "--zone", "dyn.bl.test.example", "--reload", "200ms")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stderr)
	for sc.Scan() && !strings.Contains(sc.Text(), "edge dnsbl: serving") {
	}
	go func() {
		for sc.Scan() {
		}
	}()
	ask := func(name string) (int, string) {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		var r *dns.Msg
		var err error
		for i := 0; i < 50; i++ {
			if r, _, err = new(dns.Client).Exchange(m, addr); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("dnsbl query %s: %v", name, err)
		}
		if len(r.Answer) == 1 {
			return r.Rcode, r.Answer[0].(*dns.A).A.String()
		}
		return r.Rcode, ""
	}
	if rc, a := ask("2.1.10.10.dyn.bl.test.example."); rc != dns.RcodeSuccess || a != "127.0.0.10" {
		t.Errorf("dynamic 10.10.1.2: %s %q", dns.RcodeToString[rc], a)
	}
	if rc, _ := ask("2.5.10.10.dyn.bl.test.example."); rc != dns.RcodeNameError {
		t.Errorf("static 10.10.5.2: %s", dns.RcodeToString[rc])
	}
	// a pool change reaches the running server
	n.MustCLI("", "pool", "remove", "dyn-east")
	deadline := time.Now().Add(10 * time.Second)
	for {
		rc, _ := ask("2.1.10.10.dyn.bl.test.example.")
		if rc == dns.RcodeNameError {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dnsbl still lists 10.10.1.2 after its pool was removed")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
