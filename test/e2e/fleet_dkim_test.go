package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFleetDKIMKeySharedByNodes (issue 16: fleet-wide state lives in
// PostgreSQL only): a key made through node-a's CLI signs mail submitted
// through node-b, which has no key file of its own. The remote peer (Postfix's
// smtp-sink) receives a DKIM-Signature with node-a's selector that
// verifies against the record node-a printed; after `dkim activate` on
// node-b, node-a's next message carries the new selector.
func TestFleetDKIMKeySharedByNodes(t *testing.T) {
	port := FreePort(t)
	sk := startSink(t, "127.0.0.1", port, "")
	d := startDNS(t, "far.test. 60 IN MX 10 mx.far.test.", "mx.far.test. 60 IN A 127.0.0.1")
	extra := fmt.Sprintf("[delivery]\nremote_port = %d\nretry_initial = \"200ms\"\nretry_max = \"500ms\"\nscan_interval = \"200ms\"\n"+
		"[dns]\nservers = [%q]\ntimeout = \"2s\"\n", port, d.Addr)
	nodes := newFleet(t, 2, extra)
	a, b := nodes[0], nodes[1]
	for _, n := range nodes {
		n.Start()
	}
	a.MustCLI("", "domain", "add", "example.net")
	a.MustCLI(alicePW+"\n", "user", "add", alice, "--password-stdin", "--home", "node-a")
	rec := a.MustCLI("", "dkim", "keygen", "example.net", "--selector", "fleet-one", "--algo", "ed25519")
	d.add(t, strings.TrimSpace(rec))
	if out := b.MustCLI("", "dkim", "list"); out != "DOMAIN       ACTIVE SELECTOR\nexample.net  fleet-one\n" {
		t.Fatalf("node-b's dkim list: %q, want node-a's key", out)
	}
	if out := b.MustCLI("", "dkim", "show", "example.net"); out != rec {
		t.Fatalf("node-b's dkim show: %q, want %q", out, rec)
	}

	fleetSend(t, []*fleetNode{b}, "dave@far.test", "dkim-b", 1)
	got := sk.wait(t, 1, b.Node)
	checkSigned(t, d, got[0], "fleet-one")

	// A rotation through node-b reaches node-a's signer with its next message.
	rec2 := b.MustCLI("", "dkim", "keygen", "example.net", "--selector", "fleet-two", "--algo", "rsa")
	d.add(t, strings.TrimSpace(rec2))
	b.MustCLI("", "dkim", "activate", "example.net", "fleet-two")
	fleetSend(t, []*fleetNode{a}, "dave@far.test", "dkim-a", 1)
	got = sk.wait(t, 2, a.Node)
	var second string
	for _, m := range got {
		if strings.Contains(m, "Subject: dkim-a-0") {
			second = m
		}
	}
	if second == "" {
		t.Fatalf("node-a's message not at the sink: %q", got)
	}
	checkSigned(t, d, second, "fleet-two")

	for _, n := range nodes {
		if _, err := os.Stat(filepath.Join(n.Dir, "dkim")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s keeps DKIM keys on its disk (%v): they belong in the store", n.Name, err)
		}
	}
}

// checkSigned fails unless m carries one DKIM-Signature for example.net
// under selector that verifies against the test DNS.
func checkSigned(t *testing.T, d *testDNS, m, selector string) {
	t.Helper()
	m = toCRLF(m)
	header, _ := splitMessage(t, m)
	if headerCount(header, "DKIM-Signature") != 1 || !strings.Contains(header, "d=example.net") || !strings.Contains(header, "s="+selector+";") {
		t.Fatalf("want one DKIM-Signature d=example.net s=%s:\n%s", selector, header)
	}
	verifyDKIMGo(t, d, m)
}
