package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"mailgate/internal/config"
	"mailgate/internal/privsep"
)

// How a command run by root treats its privileges.
const (
	// actAsOwner: the command touches the store, the spool or the
	// Maildirs, so it switches to data_dir's owner first (doveadm's rule):
	// what it creates is then the daemon's. Every command not listed below.
	actAsOwner = "act as data_dir's owner"
	// keepRoot: the command needs root for something else.
	keepRoot = "keep root"
	// noData: the command reads no data_dir and no store.
	noData = "no data"
)

// privilegeRules are the commands (by path below mailgate, a group
// covering its subcommands) that do not act as data_dir's owner, and why.
var privilegeRules = map[string]struct{ rule, why string }{
	"serve":       {keepRoot, "systemd starts it as the mailgate user; started as root it stays root and warns"},
	"edge apply":  {keepRoot, "programs nftables: CAP_NET_ADMIN"},
	"edge run":    {keepRoot, "programs nftables: CAP_NET_ADMIN"},
	"edge report": {keepRoot, "reads the kernel's nftables counters: CAP_NET_ADMIN"},
	"edge dnsbl":  {keepRoot, "may listen on port 53"},
	"bench":       {keepRoot, "benchmarks measure the machine, with their own data"},
	"config":      {noData, "prints or checks a config"},
	"version":     {noData, "prints the build"},
	"help":        {noData, "prints help"},
	"completion":  {noData, "prints a shell completion script"},
	// cobra's hidden commands behind shell completion.
	"__complete":       {noData, "completes a command line"},
	"__completeNoDesc": {noData, "completes a command line"},
}

// privilegeRule is how c treats root's privileges: the rule of c's
// path or its nearest listed group, else actAsOwner.
func privilegeRule(c *cobra.Command) string {
	path := strings.Fields(c.CommandPath())[1:]
	for n := len(path); n > 0; n-- {
		if r, ok := privilegeRules[strings.Join(path[:n], " ")]; ok {
			return r.rule
		}
	}
	if len(path) == 0 {
		return noData // mailgate alone prints its help
	}
	return actAsOwner
}

// invokedAs is who ran the command, for the audit log, before any switch.
var invokedAs string

// loaded is the config actAsDataDirOwner read, before any switch: after
// one the file (root's, mode 0600, say) may no longer be readable.
var loaded *config.Config

// actAsDataDirOwner is the root command's PersistentPreRunE: run by
// root, a command touching the data switches to the uid and gid owning
// data_dir when another user owns it, before it opens anything. A
// data_dir that does not exist yet, or root's own, leaves root as it is.
func actAsDataDirOwner(c *cobra.Command, _ []string) error {
	loaded, invokedAs = nil, ""
	// A group alone only prints its usage.
	if os.Geteuid() != 0 || privilegeRule(c) != actAsOwner || c.Annotations[groupAnnotation] != "" {
		return nil
	}
	cfg, err := loadConfig()
	if err != nil {
		return err
	}
	// The command reads this one, switched or not: one parse of the file
	// and its *_file secrets per command, not two.
	loaded = cfg
	owner, ok, err := privsep.DirOwner(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("data_dir %s: %w", cfg.DataDir, err)
	}
	if !ok || owner.UID == 0 {
		return nil
	}
	invokedAs = actor()
	if err := privsep.Become(owner); err != nil {
		return fmt.Errorf("data_dir %s is owned by %s: acting as that user failed: %w (run the command as %s, e.g. runuser -u %s -- mailgate ...)",
			cfg.DataDir, owner.Name, err, owner.Name, owner.Name)
	}
	return nil
}
