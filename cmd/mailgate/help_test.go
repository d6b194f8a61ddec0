package main

import (
	"net"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"mailgate/internal/config"
)

// TestEveryCommandIsExplained: `mailgate help` walks a tree an operator
// meets for the first time, so every command says what it does in one line
// (Short), every command that runs shows how a call looks (Example: its
// arguments, what it prints), and every flag has its explanation. Every
// entry of examples names a command. (serve, dkim keygen, dns records and
// 13 more had a Long but no Example.)
func TestEveryCommandIsExplained(t *testing.T) {
	keys := map[string]bool{} // examples not yet matched to a command
	for k := range examples {
		keys[k] = true
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		name := c.CommandPath()
		if strings.TrimSpace(c.Short) == "" {
			t.Errorf("%s: no Short", name)
		}
		if c.Runnable() && c.Annotations[groupAnnotation] == "" && strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s: no Example (add one to examples in examples.go)", name)
		}
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if strings.TrimSpace(f.Usage) == "" {
				t.Errorf("%s --%s: no usage text", name, f.Name)
			}
		})
		delete(keys, commandKey(c))
		for _, sub := range c.Commands() {
			if sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			walk(sub)
		}
	}
	walk(newRoot())
	for k := range keys {
		t.Errorf("examples[%q]: no such command", k)
	}
}

// TestServeHelpNamesEveryZeroConfigPort: serve --help lists the ports the
// zero config listens on, all of them (it once left out ManageSieve and
// the web server).
func TestServeHelpNamesEveryZeroConfigPort(t *testing.T) {
	out, err := runCLI(t, "serve", "--help")
	if err != nil {
		t.Fatal(err)
	}
	listen := reflect.ValueOf(config.Default().Listen)
	for i := 0; i < listen.NumField(); i++ {
		addr := listen.Field(i).String()
		if addr == "" {
			continue
		}
		_, port, _ := net.SplitHostPort(addr)
		if !regexp.MustCompile(`\b` + port + `\b`).MatchString(out) {
			t.Errorf("serve --help does not name port %s (listen.%s)", port, listen.Type().Field(i).Tag.Get("toml"))
		}
	}
}
