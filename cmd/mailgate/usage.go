package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// explainUsageErrors makes a mistyped command line say what to type: a wrong
// argument count or an unknown flag names the command's usage line, and an
// unknown subcommand of a group (`mailgate user frob`, `mailgate frob`,
// `mailgate completion frob`) or an unknown help topic (`mailgate help frob`)
// is an error naming the usage, instead of some help and exit status 0.
func explainUsageErrors(root *cobra.Command) {
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return withUsage(c, err)
	})
	// A group's usage is its subcommands alone, as before it could run.
	root.SetUsageTemplate(strings.Replace(root.UsageTemplate(), "Usage:{{if .Runnable}}",
		`Usage:{{if and .Runnable (not (index .Annotations "`+groupAnnotation+`"))}}`, 1))
	// cobra adds its help and completion commands when it executes, after
	// this walk: added now, the walk reaches them too.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "help" {
			c.Args = helpTopic
		}
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		switch {
		case !c.Runnable() && c.HasSubCommands():
			// First: cobra never checks a group's Args (completion's
			// NoArgs), it prints the group's help.
			c.Args = cobra.ArbitraryArgs
			c.RunE = unknownSubcommand
			c.Annotations = map[string]string{groupAnnotation: "true"}
		case c.Args != nil:
			check := c.Args
			c.Args = func(c *cobra.Command, args []string) error {
				if err := check(c, args); err != nil {
					return withUsage(c, err)
				}
				return nil
			}
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
	msg := err.Error()
	if c.HasParent() {
		msg = strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ") + ": " + msg
	}
	return fmt.Errorf("%s\n%s", msg, usageLine(c))
}

// usageLine is the line naming how c is called and where its help is.
func usageLine(c *cobra.Command) string {
	use := c.UseLine()
	if c.Annotations[groupAnnotation] != "" {
		use = c.CommandPath() + " COMMAND [flags]"
	}
	return fmt.Sprintf("usage: %s (see `%s --help`)", use, c.CommandPath())
}

// unknownSubcommand runs for a group given no subcommand it knows: without
// arguments it prints the group's help, as before.
func unknownSubcommand(c *cobra.Command, args []string) error {
	if len(args) == 0 {
		return c.Help()
	}
	return fmt.Errorf("%s\n%s", unknownCommand(c, args[0]), usageLine(c))
}

// unknownCommand says that group c has no subcommand name, and which it
// may have meant.
func unknownCommand(c *cobra.Command, name string) string {
	msg := fmt.Sprintf("unknown command %q for %q", name, c.CommandPath())
	if c.SuggestionsMinimumDistance <= 0 {
		// cobra's default, which SuggestionsFor alone does not apply:
		// without it only prefixes were suggested ("usr" got no "user").
		c.SuggestionsMinimumDistance = 2
	}
	if s := c.SuggestionsFor(name); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, " or ") + "?"
	}
	return msg
}

// helpTopic checks the arguments of `mailgate help`: a command path, all
// of it known (cobra's own help printed the root's usage for an unknown
// one, and exited 0).
func helpTopic(c *cobra.Command, args []string) error {
	cmd, rest, err := c.Root().Find(args)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return nil
	}
	if cmd.HasSubCommands() {
		return errors.New(unknownCommand(cmd, rest[0]))
	}
	return fmt.Errorf("%q has no subcommand %q", cmd.CommandPath(), rest[0])
}
