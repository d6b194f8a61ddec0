package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMXTrustedARCSealerOverridesDMARC: a message From signer.test
// (p=reject) reaches the MX through a mailing list, fwd.test, that
// changed its body, breaking signer.test's DKIM signature (made by
// dkimpy's dkimsign), after its MX had found dkim=pass and dmarc=pass;
// the list sealed that finding with dkimpy's arc_sign. With fwd.test in
// [auth] arc_trusted_sealers the MX accepts it (250) into INBOX, and its
// Authentication-Results say arc=pass and dmarc=fail with the override.
// A node that trusts no sealer refuses the same message with DMARC's
// 550 5.7.1.
func TestMXTrustedARCSealerOverridesDMARC(t *testing.T) {
	NeedTool(t, "dkimsign")
	signerKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	listKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	d := startDNS(t, `signer.test. 60 IN TXT "v=spf1 -all"`, `_dmarc.signer.test. 60 IN TXT "v=DMARC1; p=reject"`)
	d.add(t, txtRecord(t, "sel._domainkey.signer.test", signerKey), txtRecord(t, "arc._domainkey.fwd.test", listKey))
	dir := t.TempDir()
	signerFile, listFile := filepath.Join(dir, "signer.pem"), filepath.Join(dir, "list.pem")
	writePEM(t, signerFile, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(signerKey))
	writePEM(t, listFile, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(listKey))

	// The author's signed message, as the list received it, then changed
	// by the list and sealed with what the list's MX (mx.fwd.test) found.
	signed := dkimSign(t, signerFile, msgFrom("ceo@signer.test", "via-trusted-list"))
	listed := "Authentication-Results: mx.fwd.test; dkim=pass header.d=signer.test; dmarc=pass header.from=signer.test\n" +
		strings.Replace(signed, "this is", "this was", 1) + "-- \nthe list footer\n"
	in := filepath.Join(dir, "listed.eml")
	if err := os.WriteFile(in, []byte(toCRLF(listed)), 0o600); err != nil {
		t.Fatal(err)
	}
	sealed := runDkimpy(t, "sign", in, listFile, "fwd.test", "arc", "mx.fwd.test")
	if !strings.HasPrefix(sealed, "ARC-Seal: i=1;") {
		t.Fatalf("arc_sign output:\n%s", sealed)
	}

	node := func(trusted string) *Node {
		n := NewNode(t, "", fmt.Sprintf("[dns]\nservers = [%q]\ntimeout = \"2s\"\n[auth]\narc_trusted_sealers = [%s]\n", d.Addr, trusted))
		n.AddUser("alice@example.net", "alice-secret-1")
		n.Start()
		return n
	}
	trusting := node(`"Fwd.Test"`)
	wantReply(t, swaksMX(t, trusting, "owner@fwd.test", "alice@example.net", []byte(toCRLF(sealed))), "<-  250 2.0.0")
	path := newest(t, trusting.WaitMaildir("alice@example.net", 1), "via-trusted-list")
	ar := storedFields(t, path, "Authentication-Results")
	if len(ar) != 2 || !strings.HasPrefix(ar[0], "mail.test.example;") {
		t.Fatalf("Authentication-Results: %q", ar)
	}
	mustContain(t, ar[0], "dkim=fail",
		"arc=pass (i=1 d=fwd.test s=arc) header.oldest-pass=0 smtp.remote-ip=127.0.0.1;",
		"dmarc=fail (p=reject dis=none; overridden: arc=pass from trusted sealer fwd.test) header.from=signer.test")

	strict := node("")
	out := swaksMX(t, strict, "owner@fwd.test", "alice@example.net", []byte(toCRLF(sealed)))
	wantReply(t, out, "<** 550 5.7.1 Message refused: the DMARC policy of signer.test")
	if got := strict.SettledMaildir("alice@example.net"); len(got) != 0 {
		t.Fatalf("the untrusting node stored %d messages", len(got))
	}
}
