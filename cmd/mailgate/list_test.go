package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// header is a list's first row: upper-case column names, aligned with
// spaces (tabwriter), as `domain list` prints DOMAIN ACCOUNTS CREATED.
var header = regexp.MustCompile(`^[A-Z#][A-Z0-9 #()/_-]*$`)

// TestListCommandsHaveAHeader: every `list` command starts with a header
// row, with nothing to list as with rows, so its columns are named and
// read alike everywhere. (`dkim list`, `edge relay list` and `edge scope
// list` printed bare rows, tab-separated.)
func TestListCommandsHaveAHeader(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mailgate.toml")
	if err := os.WriteFile(cfg, []byte("data_dir = \""+dir+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		t.Helper()
		out, err := runCLI(t, append([]string{"-c", cfg}, args...)...)
		if err != nil {
			t.Fatalf("mailgate %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	var lists [][]string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		// node list without a fleet says in a sentence that there is none.
		if c.Name() == "list" && c.Args(c, nil) == nil && commandKey(c) != "node list" {
			lists = append(lists, strings.Fields(commandKey(c)))
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRoot())
	if len(lists) < 10 {
		t.Fatalf("found only %d list commands: %v", len(lists), lists)
	}
	check := func(args []string) {
		t.Helper()
		out := run(args...)
		if first, _, _ := strings.Cut(out, "\n"); !header.MatchString(first) {
			t.Errorf("mailgate %s: first line %q is not a header row\n%s", strings.Join(args, " "), first, out)
		}
	}
	for _, args := range lists {
		check(args)
	}
	// Again with something to list.
	run("domain", "add", "example.net")
	run("dkim", "keygen", "example.net", "--selector", "s1", "--algo", "ed25519")
	run("edge", "relay", "add", "192.0.2.25")
	run("edge", "scope", "all", "--from", "2030-04-01T00:00:00Z")
	run("pool", "add", "dyn", "--kind", "dynamic", "198.18.0.0/16")
	for _, args := range append(lists, []string{"dkim", "list", "example.net"}, []string{"pool", "list", "dyn"}) {
		check(args)
	}
	for args, want := range map[string]string{
		"dkim list":       "DOMAIN       ACTIVE SELECTOR\nexample.net  s1\n",
		"edge relay list": "PREFIX\n192.0.2.25/32\n",
		"edge scope list": "FROM                  SCOPE  PHASE\n2030-04-01T00:00:00Z  all    phase 2\n",
	} {
		if out := run(strings.Fields(args)...); out != want {
			t.Errorf("mailgate %s: %q, want %q", args, out, want)
		}
	}
}
