package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// radiusNode is a started node serving RADIUS accounting with secret, and
// the account dave@example.net; it returns the node, the accounting
// address and the secret file.
func radiusNode(t *testing.T, secret string) (*Node, string, string) {
	t.Helper()
	n := NewNode(t, "", "")
	addr, secretFile := enableRADIUS(t, n, secret)
	n.AddUser("dave@example.net", "dave-secret-4")
	n.Start()
	if !strings.Contains(n.Log(), "radius accounting (udp)") {
		t.Fatalf("no RADIUS listener announced:\n%s", n.Log())
	}
	return n, addr, secretFile
}

// enableRADIUS adds a RADIUS accounting listener with secret to a node not
// yet started; it returns the listener's address and the secret file.
func enableRADIUS(t *testing.T, n *Node, secret string) (string, string) {
	t.Helper()
	NeedTool(t, "radclient")
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	// [listen] is the config's last table: the first line lands in it.
	appendConfig(t, n, fmt.Sprintf("radius_accounting = %q\n[radius]\nsecret_file = %q\n", addr, secretFile))
	return addr, secretFile
}

// appendConfig adds TOML at the end of a node's config, before Start: a key
// lands in the last table ([listen] at first), a table starts a new one.
func appendConfig(t *testing.T, n *Node, toml string) {
	t.Helper()
	f, err := os.OpenFile(n.Config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(toml); err != nil {
		t.Fatal(err)
	}
}

// radclient sends one accounting request the way a BNG does, with Debian's
// radclient (freeradius-utils) reading the secret from a file; it reports
// whether an Accounting-Response came back.
func radclient(t *testing.T, addr, secretFile, attrs string) bool {
	t.Helper()
	cmd := exec.Command("radclient", "-S", secretFile, "-r", "1", "-t", "2", "-x", addr, "acct")
	cmd.Stdin = strings.NewReader(attrs + "\n")
	out, err := cmd.CombinedOutput()
	got := strings.Contains(string(out), "Received Accounting-Response")
	if err == nil != got {
		t.Fatalf("radclient exit %v but output:\n%s", err, out)
	}
	return got
}

// TestRADIUSAccountingNamesTheSubscriber (issue 11 §5): Start, Interim-Update
// and Stop from a BNG (radclient) map addresses to the subscriber who held
// them; a request with the wrong secret gets no answer and records
// nothing; Accounting-On closes the NAS's open sessions; `subscriber who`
// names the linked mail account.
func TestRADIUSAccountingNamesTheSubscriber(t *testing.T) {
	n, addr, secretFile := radiusNode(t, "bng-shared-secret")
	n.MustCLI("", "subscriber", "link", "sub-0001", "dave@example.net")

	if !radclient(t, addr, secretFile, `Acct-Status-Type = Start, User-Name = "sub-0001", Acct-Session-Id = "s1", NAS-Identifier = "bng1", Framed-IP-Address = 10.10.0.5, Class = "dynamic"`) {
		t.Fatal("no Accounting-Response to Start")
	}
	during := time.Now().UTC().Format(time.RFC3339)
	if !radclient(t, addr, secretFile, `Acct-Status-Type = Interim-Update, User-Name = "sub-0001", Acct-Session-Id = "s1", NAS-Identifier = "bng1", Delegated-IPv6-Prefix = 2001:db8:10::/56, Acct-Session-Time = 60`) {
		t.Fatal("no Accounting-Response to Interim-Update")
	}
	for _, ip := range []string{"10.10.0.5", "2001:db8:10:ff::9"} {
		out := n.MustCLI("", "subscriber", "who", ip)
		if !strings.Contains(out, "subscriber sub-0001\n") || !strings.Contains(out, "account    dave@example.net\n") || !strings.Contains(out, "class      dynamic\n") {
			t.Errorf("subscriber who %s:\n%s", ip, out)
		}
	}

	// A forged request (wrong secret) is dropped: no answer, no record.
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("guessed\n"), 0o600)
	if radclient(t, addr, bad, `Acct-Status-Type = Start, User-Name = "mallory", Acct-Session-Id = "m1", NAS-Identifier = "bng1", Framed-IP-Address = 10.10.0.66`) {
		t.Fatal("a request with the wrong secret was answered")
	}
	if out, err := n.CLI("", "subscriber", "who", "10.10.0.66"); err == nil {
		t.Fatalf("the forged session was recorded:\n%s", out)
	}

	// Stop: nobody holds the address now, sub-0001 did during the session.
	if !radclient(t, addr, secretFile, `Acct-Status-Type = Stop, User-Name = "sub-0001", Acct-Session-Id = "s1", NAS-Identifier = "bng1", Framed-IP-Address = 10.10.0.5, Acct-Session-Time = 61`) {
		t.Fatal("no Accounting-Response to Stop")
	}
	if out, err := n.CLI("", "subscriber", "who", "10.10.0.5"); err == nil || !strings.Contains(out, "no subscriber session held 10.10.0.5") {
		t.Errorf("after Stop: %v\n%s", err, out)
	}
	if out := n.MustCLI("", "subscriber", "who", "10.10.0.5", "--at", during); !strings.Contains(out, "subscriber sub-0001\n") {
		t.Errorf("who --at during the session:\n%s", out)
	}

	// Accounting-On: the NAS restarted, its open sessions are over.
	radclient(t, addr, secretFile, `Acct-Status-Type = Start, User-Name = "sub-0002", Acct-Session-Id = "s2", NAS-Identifier = "bng1", Framed-IP-Address = 10.10.0.7`)
	n.MustCLI("", "subscriber", "who", "10.10.0.7")
	if !radclient(t, addr, secretFile, `Acct-Status-Type = Accounting-On, NAS-Identifier = "bng1", Acct-Session-Id = "0"`) {
		t.Fatal("no Accounting-Response to Accounting-On")
	}
	if out, err := n.CLI("", "subscriber", "who", "10.10.0.7"); err == nil {
		t.Errorf("session still open after Accounting-On:\n%s", out)
	}
}
