package e2e

import (
	"os"
	"strings"
	"testing"
)

// rootWarning is the line serve prints when started as root.
const rootWarning = "mailgate: warning: running as root: run as an unprivileged user, see `mailgate config systemd`"

// TestServeWarnsAsRoot: serve started as root (the tests run as root)
// says what to do, in its banner and its log, and serves all the same.
func TestServeWarnsAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	n := NewNode(t, "", "")
	n.Start()
	if !strings.Contains(n.Log(), rootWarning+"\n") || !strings.Contains(n.Log(), "level=WARN msg=\"running as root") {
		t.Fatalf("no warning about root:\n%s", n.Log())
	}
}
