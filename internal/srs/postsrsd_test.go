package srs

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailgate/internal/testpeer"
)

// postsrsd runs PostSRSd (the daemon Postfix sites use) with secret and
// returns a lookup over its Postfix tcp_table protocol: "get ADDR" on the
// forward or reverse port, "200 RESULT" back.
func postsrsd(t *testing.T, domain, secret string) (forward, reverse func(string) string) {
	t.Helper()
	if _, err := exec.LookPath("postsrsd"); err != nil {
		testpeer.MissingPeer(t, "postsrsd not installed (scripts/test-deps.sh installs it)")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fp, err := testpeer.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	rp, err := testpeer.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("postsrsd", "-s", file, "-d", domain, "-l", "127.0.0.1", "-4",
		"-f", fmt.Sprint(fp), "-r", fmt.Sprint(rp))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lookup := func(port int) func(string) string {
		return func(addr string) string {
			var c net.Conn
			var err error
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if c, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil || time.Now().After(deadline) {
					break
				}
			}
			if err != nil {
				t.Fatalf("postsrsd: %v", err)
			}
			defer c.Close()
			fmt.Fprintf(c, "get %s\n", addr)
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				t.Fatalf("postsrsd get %s: %v", addr, err)
			}
			return strings.TrimSpace(line)
		}
	}
	return lookup(fp), lookup(rp)
}

// TestPostSRSdInterop: with the same secret and domain, PostSRSd and this
// package make the same addresses, and each reverses the other's.
func TestPostSRSdInterop(t *testing.T) {
	const secret = "tops3cret"
	fwd, rev := postsrsd(t, "fwd.example", secret)
	r, err := New("fwd.example", [][]byte{[]byte(secret)}, DefaultMaxAge)
	if err != nil {
		t.Fatal(err)
	}
	for _, sender := range []string{
		"Alice@Sender.example",
		"x=y@sender.example",
		"SRS0=abcd=JV=sender.example=alice@first.example", // becomes SRS1
		"SRS1=wxyz=first.example==abcd=JV=sender.example=alice@second.example",
	} {
		before, _ := r.Forward(sender)
		theirs := fwd(sender)
		after, _ := r.Forward(sender)
		if theirs != "200 "+before && theirs != "200 "+after {
			t.Errorf("Forward(%q): postsrsd %q, ours %q", sender, theirs, before)
		}
		ours := before
		want := sender
		if IsSRS(sender) {
			// An SRS1 reverses to the first forwarder's SRS0.
			want = "SRS0=abcd=JV=sender.example=alice@first.example"
		}
		if got := rev(ours); got != "200 "+want {
			t.Errorf("postsrsd reverse of our %q = %q, want %q", ours, got, want)
		}
		if got, err := r.Reverse(strings.TrimPrefix(theirs, "200 ")); err != nil || got != want {
			t.Errorf("our Reverse of postsrsd's %q = %q, %v; want %q", theirs, got, err, want)
		}
	}
	// Tampered: both refuse.
	a, _ := r.Forward("alice@sender.example")
	bad := strings.Replace(a, "=alice@", "=mallory@", 1)
	if got := rev(bad); strings.HasPrefix(got, "200 ") {
		t.Errorf("postsrsd accepted %q: %q", bad, got)
	}
	if _, err := r.Reverse(bad); err == nil {
		t.Errorf("we accepted %q", bad)
	}
}
