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
		{[]string{"user", "frob"}, "unknown command \"frob\" for \"mailgate user\" (see `mailgate user --help`)"},
		{[]string{"edge", "exempt", "ad"}, "unknown command \"ad\" for \"mailgate edge exempt\"; did you mean add?"},
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
