package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestEdgeApplyVerifyFindsChangesBehindOurBack changes table inet op25b's
// sets with nft itself, where `edge apply` cannot see it: a plain apply
// trusts its cache (the digest marker is untouched) and says unchanged;
// --verify reads every set back from the kernel, finds the removed and the
// added element, and puts the set right. 6000 prefixes make the read-back
// span many dump messages, so an element at either end of the set is only
// found when the whole dump is read.
func TestEdgeApplyVerifyFindsChangesBehindOurBack(t *testing.T) {
	lab := newNetnsLab(t)
	router := lab.ns("v")
	node := NewNode(t, "", "")
	var csv strings.Builder
	csv.WriteString("pool,kind,prefix\n")
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&csv, "dyn,dynamic,10.%d.%d.0/24\n", i/128, 2*(i%128)) // apart: not merged
	}
	for i := 0; i < 1000; i++ {
		fmt.Fprintf(&csv, "dyn,dynamic,fd00:%x::/48\n", 2*i)
	}
	file := filepath.Join(t.TempDir(), "pools.csv")
	if err := os.WriteFile(file, []byte(csv.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	node.MustCLI("", "pool", "import", file)
	edge := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("ip", append([]string{"netns", "exec", router, binary, "-c", node.Config, "edge", "apply", "--resolve=false"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("edge apply %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	nft := func(args ...string) (string, error) {
		out, err := exec.Command("ip", append([]string{"netns", "exec", router, "nft"}, args...)...).CombinedOutput()
		return string(out), err
	}
	mustNft := func(args ...string) {
		t.Helper()
		if out, err := nft(args...); err != nil {
			t.Fatalf("nft %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	expect := func(what, out, want string) {
		t.Helper()
		if !strings.Contains(out, want) {
			t.Errorf("%s: %q, want %q", what, strings.TrimSpace(out), want)
		}
	}

	expect("first apply", edge(), "table created")
	expect("verify of an intact table", edge("--verify"), "applied: unchanged")
	// The read-back alone reads every boundary (a start and an end per
	// range: 2 x 6000), with 32 KiB dump messages and with page-sized ones.
	for _, args := range [][]string{{"bench", "edge-read"}, {"bench", "edge-read", "--page-messages"}} {
		out, err := exec.Command("ip", append([]string{"netns", "exec", router, binary, "-c", node.Config}, args...)...).CombinedOutput()
		if err != nil || !regexp.MustCompile(`^edge-read: 12000 elements in \d+ ms, cpu \d+ ms \(system \d+ ms\)\n$`).Match(out) {
			t.Errorf("mailgate %s: %v %q", strings.Join(args, " "), err, out)
		}
	}

	// Removed behind our back: the lowest and the highest prefix of the set
	// (one at each end of the dump) and one IPv6 prefix.
	mustNft("delete", "element", "inet", "op25b", "dyn4", "{ 10.0.0.0/24, 10.39.14.0/24 }")
	mustNft("delete", "element", "inet", "op25b", "dyn6", "{ fd00:7ce::/48 }")
	expect("apply trusting its cache", edge(), "applied: unchanged")
	expect("verify after removals", edge("--verify"), "3 elements added, 0 removed")
	for _, el := range [][]string{{"dyn4", "10.0.0.7"}, {"dyn4", "10.39.14.200"}, {"dyn6", "fd00:7ce::1"}} {
		if out, err := nft("get", "element", "inet", "op25b", el[0], "{ "+el[1]+" }"); err != nil {
			t.Errorf("%s is not back in %s after --verify: %v\n%s", el[1], el[0], err, out)
		}
	}

	// Added behind our back: a prefix no pool holds.
	mustNft("add", "element", "inet", "op25b", "dyn4", "{ 192.0.2.128/25 }")
	expect("apply trusting its cache", edge(), "applied: unchanged")
	expect("verify after an addition", edge("--verify"), "0 elements added, 1 removed")
	if out, err := nft("get", "element", "inet", "op25b", "dyn4", "{ 192.0.2.130 }"); err == nil {
		t.Errorf("192.0.2.128/25 is still in dyn4 after --verify:\n%s", out)
	}
	expect("verify once more", edge("--verify"), "applied: unchanged")
}
