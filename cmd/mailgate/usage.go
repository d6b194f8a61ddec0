package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// explainUsageErrors makes a mistyped command line say what to type: a wrong
// argument count or an unknown flag names the command's usage line, and an
// unknown subcommand of a group (`mailgate user frob`) is an error, as it is
// at the top level, instead of the group's help and exit status 0.
func explainUsageErrors(root *cobra.Command) {
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return withUsage(c, err)
	})
	// A group's usage is its subcommands alone, as before it could run.
	root.SetUsageTemplate(strings.Replace(root.UsageTemplate(), "Usage:{{if .Runnable}}",
		`Usage:{{if and .Runnable (not (index .Annotations "`+groupAnnotation+`"))}}`, 1))
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		switch {
		case c.Args != nil:
			check := c.Args
			c.Args = func(c *cobra.Command, args []string) error {
				if err := check(c, args); err != nil {
					return withUsage(c, err)
				}
				return nil
			}
		case !c.Runnable() && c.HasSubCommands() && c.HasParent():
			c.Args = cobra.ArbitraryArgs
			c.RunE = unknownSubcommand
			c.Annotations = map[string]string{groupAnnotation: "true"}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// execute runs the command line, adding the usage line to the one usage
// error cobra reports outside the hooks above: a required flag left out
// (checked after the arguments, before the command runs).
func execute(root *cobra.Command) error {
	cmd, err := root.ExecuteC()
	if err != nil && strings.HasPrefix(err.Error(), "required flag(s) ") {
		return withUsage(cmd, err)
	}
	return err
}

// groupAnnotation marks a command that only groups others: its RunE is
// unknownSubcommand.
const groupAnnotation = "mailgate-group"

// withUsage names the command (main prints "mailgate: " before it) and its
// usage line.
func withUsage(c *cobra.Command, err error) error {
	name := c.CommandPath()
	if c.HasParent() {
		name = strings.TrimPrefix(name, c.Root().Name()+" ")
	}
	return fmt.Errorf("%s: %w\nusage: %s (see `%s --help`)", name, err, c.UseLine(), c.CommandPath())
}

// unknownSubcommand runs for a group given no subcommand it knows: without
// arguments it prints the group's help, as before.
func unknownSubcommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return c.Help()
	}
	msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
	if s := c.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return fmt.Errorf("%s (see `%s --help`)", msg, c.CommandPath())
}
