package main

import (
	"bytes"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (out string, err error) {
	t.Helper()
	root := newRoot()
	var b bytes.Buffer
	root.SetOut(&b)
	root.SetErr(&b)
	root.SetArgs(args)
	err = execute(root)
	return b.String(), err
}

// TestUsageErrorsSayWhatToType: a wrong argument count or an unknown flag
// names the usage line, and an unknown subcommand of a group is an error
// (exit status 1) with a suggestion, not the group's help and success.
func TestUsageErrorsSayWhatToType(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "add"}, "user add: accepts 1 arg(s), received 0\nusage: mailgate user add ADDRESS [flags] (see `mailgate user add --help`)"},
		{[]string{"queue", "list", "--frob"}, "queue list: unknown flag: --frob\nusage: mailgate queue list [flags]"},
		{[]string{"filter", "add", "alice@example.net", "--folder", "X"}, "filter add: required flag(s) \"regex\" not set\nusage: mailgate filter add ADDRESS --header FIELD --regex RE --folder NAME [flags]"},
		{[]string{"user", "frob"}, "unknown command \"frob\" for \"mailgate user\"\nusage: mailgate user COMMAND [flags] (see `mailgate user --help`)"},
		{[]string{"edge", "exempt", "ad"}, "unknown command \"ad\" for \"mailgate edge exempt\"; did you mean add?\nusage: mailgate edge exempt COMMAND [flags]"},
		{[]string{"edge", "exmpt"}, "unknown command \"exmpt\" for \"mailgate edge\"; did you mean exempt?"},
		{[]string{"--frob"}, "unknown flag: --frob\nusage: mailgate COMMAND [flags] (see `mailgate --help`)"},
	} {
		_, err := runCLI(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("mailgate %s: error %v; want %q", strings.Join(c.args, " "), err, c.want)
		}
	}
	out, err := runCLI(t, "user")
	if err != nil || !strings.Contains(out, "Usage:\n  mailgate user [command]\n\nAvailable Commands:") {
		t.Errorf("mailgate user: %v, %q; want the group's help", err, out)
	}
}

// TestUnknownCommandsFail: an unknown command or help topic anywhere in
// the tree, cobra's own help and completion commands included, is an
// error (exit status 1) naming the usage, never help text and success.
// (`mailgate help nosuch` and `mailgate completion frob` exited 0.)
func TestUnknownCommandsFail(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"nosuch"}, "unknown command \"nosuch\" for \"mailgate\"\nusage: mailgate COMMAND [flags] (see `mailgate --help`)"},
		{[]string{"usr"}, "unknown command \"usr\" for \"mailgate\"; did you mean srs or user?\nusage: mailgate COMMAND [flags]"},
		{[]string{"help", "nosuch"}, "help: unknown command \"nosuch\" for \"mailgate\"\nusage: mailgate help [command] [flags] (see `mailgate help --help`)"},
		{[]string{"help", "user", "frob"}, "help: unknown command \"frob\" for \"mailgate user\"\nusage: mailgate help [command]"},
		{[]string{"help", "user", "add", "alice@example.net"}, "help: \"mailgate user add\" has no subcommand \"alice@example.net\"\nusage: mailgate help [command]"},
		{[]string{"completion", "frob"}, "unknown command \"frob\" for \"mailgate completion\"\nusage: mailgate completion COMMAND [flags] (see `mailgate completion --help`)"},
		{[]string{"completion", "bash", "extra"}, "completion bash: unknown command \"extra\" for \"mailgate completion bash\"\nusage: mailgate completion bash"},
		{[]string{"user", "frob"}, "unknown command \"frob\" for \"mailgate user\"\nusage: mailgate user COMMAND [flags] (see `mailgate user --help`)"},
	} {
		out, err := runCLI(t, c.args...)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("mailgate %s: error %v, output %q; want %q", strings.Join(c.args, " "), err, out, c.want)
		}
	}
	// Asking for help still works, and prints it. (Not `completion bash`
	// here: its script goes to the stdout of when newRoot made it.)
	for _, args := range [][]string{{"help"}, {"help", "user"}, {"help", "user", "add"}, {"help", "completion", "bash"}, {"completion"}, {"user"}} {
		out, err := runCLI(t, args...)
		if err != nil || !strings.Contains(out, "Usage:") {
			t.Errorf("mailgate %s: %v, %q; want its help", strings.Join(args, " "), err, out)
		}
	}
}
