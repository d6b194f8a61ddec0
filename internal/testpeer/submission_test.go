package testpeer

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailgate/internal/certs"
	"mailgate/internal/loadgen"
	"mailgate/internal/password"
)

// The submission benchmark's peer: Postfix on implicit TLS accepts a
// login checked by Dovecot against an argon2id hash, refuses a wrong
// password with 535 and TLS below 1.2, and its mail reaches the Maildir
// through Dovecot's LMTP, complete and marked as authenticated
// submission.
func TestPostfixDovecotSubmission(t *testing.T) {
	if _, err := exec.LookPath("postfix"); err != nil {
		MissingPeer(t, "postfix not installed (make test installs it)")
	}
	if err := DovecotMissing(); err != nil {
		MissingPeer(t, "%v", err)
	}
	const user, pw = "load@bench.example", "bench-password-1"
	dir := t.TempDir()
	if _, err := certs.Load("", "", dir, "bench.example"); err != nil {
		t.Fatal(err)
	}
	hash, err := password.Hash(pw)
	if err != nil {
		t.Fatal(err)
	}
	d, err := StartDovecot(Account{User: user, Hash: "{ARGON2ID}" + hash})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	p, err := StartPostfixDovecotSubmission(port, d, []string{user}, filepath.Join(dir, "selfsigned.crt"), filepath.Join(dir, "selfsigned.key"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	waitListen(t, addr)

	target := loadgen.Target{Addr: addr, ImplicitTLS: true, User: user, Password: pw}
	for _, pipelining := range []bool{false, true} {
		target.Pipelining = pipelining
		r, err := loadgen.Run(context.Background(), loadgen.Load{Target: target, From: user, To: []string{user},
			Clients: 1, PerConn: 1, Size: 2048, Messages: 2})
		if err != nil || r.Sent != 2 {
			t.Fatalf("pipelining %v: %d sent, %v, first error %v\n%s", pipelining, r.Sent, err, r.FirstErr, p.Log())
		}
	}
	bad := target
	bad.Password, bad.Pipelining = "wrong", false // a pipelining Open sends AUTH with the first message
	if s, err := loadgen.Open(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "535") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("wrong password: %v, want a 535", err)
	}
	if c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS11}); err == nil {
		c.Close()
		t.Fatal("a TLS 1.1 handshake succeeded")
	}

	newDir := filepath.Join(d.Maildir(user), "new")
	var files []os.DirEntry
	for deadline := time.Now().Add(30 * time.Second); len(files) < 4 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		files, _ = os.ReadDir(newDir)
	}
	if len(files) != 4 {
		t.Fatalf("%d messages in %s, want 4\n%s\n%s", len(files), newDir, p.Log(), d.Log())
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(newDir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("with ESMTPSA")) || !bytes.Contains(b, []byte("X-Loadgen-Seq: ")) || !bytes.HasSuffix(b, []byte("\nend 1\n")) && !bytes.HasSuffix(b, []byte("\nend 2\n")) {
			t.Fatalf("message %s:\n%s", f.Name(), b)
		}
	}
}

// waitListen waits up to 15 s for a listener at addr.
func waitListen(t *testing.T, addr string) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens at %s: %v", addr, err)
		}
	}
}
