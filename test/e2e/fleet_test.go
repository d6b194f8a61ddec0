package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// startFleet starts three nodes on one PostgreSQL with alice (home
// node-a) and bob (home node-b).
func startFleet(t *testing.T) []*fleetNode {
	t.Helper()
	nodes := newFleet(t, 3, fleetRetry)
	for _, n := range nodes {
		n.Start()
	}
	a := nodes[0]
	a.MustCLI("", "domain", "add", "example.net")
	if out := a.MustCLI(alicePW+"\n", "user", "add", alice, "--password-stdin", "--home", "node-a"); !strings.Contains(out, "home node of "+alice+": node-a") {
		t.Fatalf("user add --home: %s", out)
	}
	if out := nodes[2].MustCLI(bobPW+"\n", "user", "add", bob, "--password-stdin", "--home", "node-b"); !strings.Contains(out, "home node of "+bob+": node-b") {
		t.Fatalf("user add --home: %s", out)
	}
	return nodes
}

// TestFleetMailGoesHome (issue 16): alice submits to bob through each of
// three nodes; every message lands in bob's one Maildir on his home node,
// none on the others, and every spool empties.
func TestFleetMailGoesHome(t *testing.T) {
	nodes := startFleet(t)
	fleetSend(t, []*fleetNode{nodes[0], nodes[1], nodes[2]}, bob, "home", 6)
	b := nodes[1]
	got := subjects(t, b.WaitMaildir(bob, 6))
	for i := 0; i < 6; i++ {
		if got[fmt.Sprintf("home-%d", i)] != 1 {
			t.Fatalf("bob's mailbox on node-b: subjects %v, want home-0..home-5 once each", got)
		}
	}
	for _, n := range nodes {
		waitSpoolEmpty(t, n.Node)
		if n != b && len(n.Maildir(bob)) != 0 {
			t.Fatalf("%s has a copy of bob's mail: %v", n.Name, n.Maildir(bob))
		}
	}
	if !strings.Contains(nodes[0].Log(), "msg=\"handed to home node\"") || !strings.Contains(b.Log(), "fleet: handed in") {
		t.Fatalf("no hand-off logged:\nnode-a:\n%s\nnode-b:\n%s", nodes[0].Log(), b.Log())
	}

	// The registry and the homes, as the operator sees them.
	list := nodes[2].MustCLI("", "node", "list")
	for _, want := range []string{`(?m)^NODE\s+ADDRESS\s+STATE\s+LAST HEARTBEAT\s+MAILBOXES`, `(?m)^node-a\s+127\.0\.0\.1:\d+\s+up\s+\S+ \(\d+s ago\)\s+1\s`,
		`(?m)^node-b\s+127\.0\.0\.1:\d+\s+up\s+.*\s1\s`, `(?m)^node-c\s+127\.0\.0\.1:\d+\s+up\s+.*\s0\s`} {
		if !regexp.MustCompile(want).MatchString(list) {
			t.Fatalf("node list does not match %s:\n%s", want, list)
		}
	}
	users := nodes[0].MustCLI("", "user", "list")
	if !regexp.MustCompile(`(?m)^alice@example\.net\s.*\snode-a$`).MatchString(users) || !regexp.MustCompile(`(?m)^bob@example\.net\s.*\snode-b$`).MatchString(users) ||
		!strings.Contains(users, "HOME") {
		t.Fatalf("user list does not show the homes:\n%s", users)
	}
}
