package main

import (
	"strings"
	"testing"
)

// TestNodeListWithoutAFleetSaysWhy: the zero config has no fleet, and
// node list says what makes a node register instead of a bare header.
func TestNodeListWithoutAFleetSaysWhy(t *testing.T) {
	t.Chdir(t.TempDir())
	out, err := runCLI(t, "node", "list")
	if err != nil || !strings.HasPrefix(out, "no nodes registered: a node registers when `mailgate serve` starts with [fleet] set and database a postgres:// URL") {
		t.Fatalf("node list: %q, %v", out, err)
	}
}
