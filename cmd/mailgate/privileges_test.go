package main

import (
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
