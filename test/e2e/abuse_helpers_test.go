package e2e

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runPyStdin runs a Python 3 script with stdin and env (KEY=VALUE) and
// returns stdout; a failing script fails the test.
func runPyStdin(t *testing.T, script, stdin string, env ...string) string {
	t.Helper()
	NeedTool(t, "python3")
	cmd := exec.Command("python3", "-c", script)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.String())
	}
	return string(out)
}

// portOf is a node's port for service, as text.
func portOf(n *Node, service string) string { return strconv.Itoa(n.Ports[service]) }

// waitFor polls cond until it holds, failing the test after 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
