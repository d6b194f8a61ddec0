package e2e

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRemoteDKIMCommands: keygen prints the record to publish and makes
// the first key active; a second key waits until activated (rotation);
// keys live in the store, not under <data_dir>/dkim, and key files left
// there by an older version are copied into the store and kept. A domain
// we do not host gets no key: the error says how to add it.
func TestRemoteDKIMCommands(t *testing.T) {
	n := NewNode(t, "", "")
	cliFails(t, n, "", "domain ours.test: not found; add it first with `mailgate domain add ours.test`", "dkim", "keygen", "ours.test")
	if out := n.MustCLI("", "dkim", "list"); out != "DOMAIN  ACTIVE SELECTOR\n" {
		t.Fatalf("list after a refused keygen: %q", out)
	}
	n.MustCLI("", "domain", "add", "ours.test")
	a := n.MustCLI("", "dkim", "keygen", "Ours.Test", "--selector", "sel-a", "--algo", "ed25519")
	if !strings.HasPrefix(a, "sel-a._domainkey.ours.test. IN TXT ( \"v=DKIM1; k=ed25519; p=") {
		t.Fatalf("keygen printed %q", a)
	}
	b := n.MustCLI("", "dkim", "keygen", "ours.test", "--selector", "sel-b")
	if !strings.Contains(b, "k=rsa; p=") {
		t.Fatalf("rsa keygen printed %q", b)
	}
	if out := n.MustCLI("", "dkim", "list"); out != "DOMAIN     ACTIVE SELECTOR\nours.test  sel-a\n" {
		t.Fatalf("list: %q", out)
	}
	if out := n.MustCLI("", "dkim", "show", "ours.test"); out != a {
		t.Fatalf("show of the active key: %q, want %q", out, a)
	}
	if out := n.MustCLI("", "dkim", "activate", "Ours.Test", "sel-b"); out != "ours.test now signs with selector sel-b\n" {
		t.Fatalf("activate said %q", out)
	}
	if out := n.MustCLI("", "dkim", "list"); out != "DOMAIN     ACTIVE SELECTOR\nours.test  sel-b\n" {
		t.Fatalf("list after activate: %q", out)
	}
	if out, err := n.CLI("", "dkim", "keygen", "ours.test", "--selector", "sel-a"); err == nil || !strings.Contains(out, "already has a key for selector") {
		t.Fatalf("reusing a selector: %v %q", err, out)
	}
	if out, err := n.CLI("", "dkim", "activate", "ours.test", "nope"); err == nil || !strings.Contains(out, "mailgate dkim keygen ours.test") {
		t.Fatalf("activating a missing key: %v %q", err, out)
	}
	if _, err := os.Stat(filepath.Join(n.Dir, "dkim")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("keygen wrote under <data_dir>/dkim (%v): keys belong in the store", err)
	}

	// A key directory from before: legacy.test/old.pem, active.
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	legacy := filepath.Join(n.Dir, "dkim", "legacy.test")
	if err := os.MkdirAll(legacy, 0o700); err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(legacy, "old.pem")
	writePEM(t, keyFile, "PRIVATE KEY", der)
	if err := os.WriteFile(filepath.Join(legacy, "active"), []byte("old\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := n.MustCLI("", "dkim", "list"); out != "DOMAIN       ACTIVE SELECTOR\nlegacy.test  old\nours.test    sel-b\n" {
		t.Fatalf("list after a legacy key directory appeared: %q", out)
	}
	wantP := base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
	if out := n.MustCLI("", "dkim", "show", "legacy.test"); !strings.Contains(out, "old._domainkey.legacy.test. IN TXT ( \"v=DKIM1; k=ed25519; p="+wantP+"\" )") {
		t.Fatalf("show of the copied key: %q", out)
	}
	if _, err := os.Stat(keyFile); err != nil {
		t.Fatalf("the copied key file was removed: %v", err)
	}
}
