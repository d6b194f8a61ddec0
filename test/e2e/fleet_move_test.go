package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// imapView is one session's look at bob's INBOX through fleetReadScript.
type imapView struct {
	UIDValidity string      `json:"uidvalidity"`
	Msgs        [][2]string `json:"msgs"`
	Count       int         `json:"count"`
}

// readBob reads bob's mailbox through node n (IMAP and POP3), flagging
// UID mark first when mark is not "".
func readBob(t *testing.T, n *fleetNode, mark string) imapView {
	t.Helper()
	raw, err := exec.Command("python3", "-c", fleetReadScript, bob, bobPW, mark, n.Addr("imaps")+","+n.Addr("pop3")).CombinedOutput()
	if err != nil {
		t.Fatalf("imaplib/poplib through %s: %v\n%s\nlog:\n%s", n.Name, err, raw, n.Log())
	}
	var views []imapView
	if err := json.Unmarshal(raw, &views); err != nil || len(views) != 1 {
		t.Fatalf("script output %q: %v", raw, err)
	}
	return views[0]
}

// TestFleetUserMoveKeepsUIDsUnderLoad (issue 16): bob's mailbox moves from
// node-b to node-c while mail for him keeps arriving through node-a and
// node-c. Every message ends up on node-c exactly once; the messages an
// IMAP client saw before keep their UIDs, flags and UIDVALIDITY (its
// cache stays valid); the home switch is audited.
func TestFleetUserMoveKeepsUIDsUnderLoad(t *testing.T) {
	NeedTool(t, "python3")
	nodes := startFleet(t)
	a, b, c := nodes[0], nodes[1], nodes[2]
	fleetSend(t, []*fleetNode{a, c}, bob, "before", 5)
	b.WaitMaildir(bob, 5)
	before := readBob(t, a, "2")
	if len(before.Msgs) != 5 {
		t.Fatalf("before the move: %+v", before)
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); fleetSend(t, []*fleetNode{a, c}, bob, "during", 10) }()
	out := a.MustCLI("", "user", "move", bob, "node-c")
	wg.Wait()
	if !strings.Contains(out, "moved bob@example.net from node-b to node-c") {
		t.Fatalf("user move: %s", out)
	}

	got := subjects(t, c.WaitMaildir(bob, 15))
	for _, n := range nodes {
		waitSpoolEmpty(t, n.Node)
	}
	got = subjects(t, c.Maildir(bob))
	if len(got) != 15 {
		t.Fatalf("bob's mailbox on node-c after the move: %v, want 15 distinct messages", got)
	}
	for s, k := range got {
		if k != 1 {
			t.Fatalf("%q is in bob's mailbox %d times", s, k)
		}
	}
	if len(b.Maildir(bob)) != 0 {
		t.Fatalf("node-b still serves bob's Maildir: %v", b.Maildir(bob))
	}
	if aside, _ := filepath.Glob(filepath.Join(b.Dir, "moved", "bob@example.net.*", "cur")); len(aside) != 1 {
		t.Fatalf("node-b's old copy was not set aside: %v", aside)
	}

	// Through node-b, which now proxies to node-c.
	after := readBob(t, b, "")
	if after.UIDValidity != before.UIDValidity || len(after.Msgs) != 15 || after.Count != 15 {
		t.Fatalf("after the move: UIDVALIDITY %s (was %s), %d messages", after.UIDValidity, before.UIDValidity, len(after.Msgs))
	}
	for i, m := range before.Msgs {
		if after.Msgs[i][1] != m[1] || uidOf(after.Msgs[i][0]) != uidOf(m[0]) {
			t.Fatalf("message %d was %q %q, is %q %q", i, uidOf(m[0]), m[1], uidOf(after.Msgs[i][0]), after.Msgs[i][1])
		}
	}
	if !strings.Contains(after.Msgs[1][0], `\Flagged`) {
		t.Fatalf("the flag set before the move is gone: %q", after.Msgs[1][0])
	}
	if users := a.MustCLI("", "user", "list"); !regexp.MustCompile(`(?m)^bob@example\.net\s.*\snode-c$`).MatchString(users) {
		t.Fatalf("user list after the move:\n%s", users)
	}
	if !strings.Contains(c.Log(), `msg="mailbox received" account=bob@example.net`) || !strings.Contains(b.Log(), `msg="mailbox moved" account=bob@example.net from=node-b to=node-c`) {
		t.Fatalf("the move was not logged:\nnode-b:\n%s\nnode-c:\n%s", b.Log(), c.Log())
	}
}

// uidOf extracts "UID n" from a FETCH response line.
func uidOf(fetch string) string {
	return regexp.MustCompile(`UID \d+`).FindString(fetch)
}

// TestFleetDrainAndHomeChoice: `user add` with an unknown home adds
// nothing; least-loaded picks the node with the fewest mailboxes; `node
// drain` moves every mailbox off a node, each to the least-loaded other
// node, with its mail.
func TestFleetDrainAndHomeChoice(t *testing.T) {
	nodes := startFleet(t) // alice on node-a, bob on node-b
	a, b := nodes[0], nodes[1]
	const carol, carolPW = "carol@example.net", "carol-secret-3"
	if out, err := a.CLI(carolPW+"\n", "user", "add", carol, "--password-stdin", "--home", "node-z"); err == nil || !strings.Contains(out, `fleet node "node-z": not found`) || !strings.Contains(out, "nothing added") {
		t.Fatalf("user add --home node-z: %v\n%s", err, out)
	}
	if users := a.MustCLI("", "user", "list"); strings.Contains(users, carol) {
		t.Fatalf("a failed user add left the account:\n%s", users)
	}
	// node-c holds nothing: least-loaded puts carol there.
	if out := a.MustCLI(carolPW+"\n", "user", "add", carol, "--password-stdin"); !strings.Contains(out, "home node of "+carol+": node-c") {
		t.Fatalf("least-loaded user add: %s", out)
	}
	a.MustCLI("", "user", "home", carol, "node-b") // a pinned home; no mail there yet
	fleetSend(t, []*fleetNode{a}, bob, "bob", 2)
	fleetSend(t, []*fleetNode{a}, carol, "carol", 3)
	b.WaitMaildir(bob, 2)
	b.WaitMaildir(carol, 3)

	out := a.MustCLI("", "node", "drain", "node-b")
	// bob first (by address) to node-c (0 mailboxes), then carol to the
	// least loaded of node-a (alice) and node-c (bob): node-a by name.
	if !strings.Contains(out, "moved bob@example.net from node-b to node-c") || !strings.Contains(out, "moved carol@example.net from node-b to node-a") {
		t.Fatalf("node drain: %s", out)
	}
	nodes[2].WaitMaildir(bob, 2)
	a.WaitMaildir(carol, 3)
	if list := a.MustCLI("", "node", "list"); !regexp.MustCompile(`(?m)^node-b\s+\S+\s+up\s+.*\s0\s`).MatchString(list) {
		t.Fatalf("node-b still holds mailboxes after the drain:\n%s", list)
	}
}
