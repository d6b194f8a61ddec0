package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestPrivilegeRule: run by root, the commands touching the store or the
// Maildirs act as data_dir's owner (as doveadm does), serve and the edge
// commands programming nftables and bench keep root, and the commands
// reading no data switch nothing. A command not listed acts as the owner,
// so a new command writing a Maildir cannot forget to.
func TestPrivilegeRule(t *testing.T) {
	root := newRoot()
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	want := map[string]string{
		"user add": actAsOwner, "user quota": actAsOwner, "user move": actAsOwner, "domain add": actAsOwner,
		"queue list": actAsOwner, "sieve put": actAsOwner, "edge relay add": actAsOwner, "edge render": actAsOwner,
		"edge impact": actAsOwner, "dkim": actAsOwner,
		"serve": keepRoot, "edge apply": keepRoot, "edge run": keepRoot, "edge report": keepRoot, "edge dnsbl": keepRoot,
		"bench submit": keepRoot, "bench edge-read": keepRoot, "bench floor": keepRoot,
		"config example": noData, "config systemd": noData, "config check": noData, "version": noData,
		"help": noData, "completion bash": noData, "": noData,
	}
	for path, rule := range want {
		c, rest, err := root.Find(strings.Fields(path))
		if err != nil || len(rest) != 0 {
			t.Fatalf("%q: no such command (%v)", path, err)
		}
		if got := privilegeRule(c); got != rule {
			t.Errorf("%q: %s, want %s", path, got, rule)
		}
	}
	// Every rule names a command that exists: a renamed one would
	// otherwise silently act as the owner.
	for path := range privilegeRules {
		if strings.HasPrefix(path, "__complete") {
			continue
		}
		if c, rest, err := root.Find(strings.Fields(path)); err != nil || len(rest) != 0 || c.CommandPath() != "mailgate "+path {
			t.Errorf("privilegeRules names %q, not a command", path)
		}
	}
	// The rule covers every command of a listed group.
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		p := strings.TrimPrefix(c.CommandPath(), "mailgate ")
		if strings.HasPrefix(p, "bench") && privilegeRule(c) != keepRoot {
			t.Errorf("%q: %s, want %s", p, privilegeRule(c), keepRoot)
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
}

// TestConfigReadOnceAsRoot: run by root, the config read to find data_dir's
// owner is the one the command uses, also when it stays root (data_dir
// root's own): the file is parsed once per command, not twice.
func TestConfigReadOnceAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "mailgate.toml")
	if err := os.WriteFile(cfgFile, []byte("data_dir = \""+dir+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { loaded, configPath = nil, "" })
	root := newRoot()
	root.SetArgs([]string{"-c", cfgFile, "domain", "list"})
	c, err := root.ExecuteC() // runs actAsDataDirOwner, then the command
	if err != nil {
		t.Fatalf("%s: %v", c.CommandPath(), err)
	}
	if loaded == nil {
		t.Fatal("the config read before the (skipped) switch was not kept for the command")
	}
	// With the file gone, the command's own read still answers.
	if err := os.Remove(cfgFile); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig()
	if err != nil || cfg.DataDir != dir {
		t.Fatalf("loadConfig after the pre-run: %v, %v", cfg, err)
	}
}
