package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRemoteDKIMCommands: keygen prints the record to publish and makes
// the first key active; a second key waits until activated (rotation);
// keys are private files under <data_dir>/dkim.
func TestRemoteDKIMCommands(t *testing.T) {
	n := NewNode(t, "", "")
	a := n.MustCLI("", "dkim", "keygen", "Ours.Test", "--selector", "sel-a", "--algo", "ed25519")
	if !strings.HasPrefix(a, "sel-a._domainkey.ours.test. IN TXT ( \"v=DKIM1; k=ed25519; p=") {
		t.Fatalf("keygen printed %q", a)
	}
	b := n.MustCLI("", "dkim", "keygen", "ours.test", "--selector", "sel-b")
	if !strings.Contains(b, "k=rsa; p=") {
		t.Fatalf("rsa keygen printed %q", b)
	}
	if out := n.MustCLI("", "dkim", "list"); out != "ours.test\tsel-a\n" {
		t.Fatalf("list: %q", out)
	}
	if out := n.MustCLI("", "dkim", "show", "ours.test"); out != a {
		t.Fatalf("show of the active key: %q, want %q", out, a)
	}
	n.MustCLI("", "dkim", "activate", "ours.test", "sel-b")
	if out := n.MustCLI("", "dkim", "list"); out != "ours.test\tsel-b\n" {
		t.Fatalf("list after activate: %q", out)
	}
	if out, err := n.CLI("", "dkim", "keygen", "ours.test", "--selector", "sel-a"); err == nil || !strings.Contains(out, "already has a key for selector") {
		t.Fatalf("reusing a selector: %v %q", err, out)
	}
	if out, err := n.CLI("", "dkim", "activate", "ours.test", "nope"); err == nil || !strings.Contains(out, "mailgate dkim keygen ours.test") {
		t.Fatalf("activating a missing key: %v %q", err, out)
	}
	fi, err := os.Stat(filepath.Join(n.Dir, "dkim", "ours.test", "sel-a.pem"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", err, fi)
	}
}
