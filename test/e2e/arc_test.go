package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"mailgate/internal/dkim"
)

// dkimpyARC runs dkimpy (Debian's python3-dkim, the library behind
// /usr/bin/arcverify, /usr/bin/dkimverify and /usr/bin/arcsign) on a
// message file, its keys fetched from the test DNS server through
// dnspython: those scripts can only ask resolv.conf's servers.
//
//	verify FILE DNSHOST DNSPORT: prints "arc: CV REASON", one
//	  "set: I DOMAIN CV AMS-VALID AS-VALID" per instance, "dkim: BOOL"
//	  (the topmost DKIM-Signature).
//	sign FILE KEYFILE DOMAIN SELECTOR SRVID: prints the message with the
//	  ARC set arcsign would add.
const dkimpyARC = `
import sys, dkim, dns.resolver
if sys.argv[1] == "sign":
    m = open(sys.argv[2], "rb").read()
    key = open(sys.argv[3], "rb").read()
    s = dkim.arc_sign(m, sys.argv[5].encode(), sys.argv[4].encode(), key, sys.argv[6].encode())
    if not s:
        sys.exit("arcsign added no set")
    sys.stdout.buffer.write(b"".join(s) + m)
    sys.exit(0)
r = dns.resolver.Resolver(configure=False)
r.nameservers = [sys.argv[3]]
r.port = int(sys.argv[4])
def txt(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    return b"".join(r.resolve(name, "TXT")[0].strings)
m = open(sys.argv[2], "rb").read()
cv, results, reason = dkim.arc_verify(m, dnsfunc=txt)
print("arc:", cv.decode() if cv else cv, reason)
for res in sorted(results, key=lambda x: x["instance"]):
    print("set:", res["instance"], res["as-domain"].decode(), res["cv"].decode(), res["ams-valid"], res["as-valid"])
print("dkim:", dkim.verify(m, dnsfunc=txt))
`

func runDkimpy(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := os.Stat("/usr/lib/python3/dist-packages/dkim"); err != nil {
		MissingPeer(t, "python3-dkim not installed (make test installs it)")
	}
	if _, err := os.Stat("/usr/lib/python3/dist-packages/authres"); err != nil {
		MissingPeer(t, "python3-authres not installed (dkimpy's ARC needs it; make test installs it)")
	}
	out, err := exec.Command("/usr/bin/python3", append([]string{"-c", dkimpyARC}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("dkimpy %s: %v\n%s", args[0], err, out)
	}
	return string(out)
}

// txtRecord is a DKIM key record in zone-file syntax, split into the
// 255-octet strings a TXT record holds.
func txtRecord(t *testing.T, name string, key *rsa.PrivateKey) string {
	t.Helper()
	v, err := dkim.RecordValue(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for len(v) > 255 {
		parts = append(parts, `"`+v[:255]+`"`)
		v = v[255:]
	}
	parts = append(parts, `"`+v+`"`)
	return name + ". 60 IN TXT ( " + strings.Join(parts, " ") + " )"
}

// TestForwardedMailIsARCSealed: alice's Sieve script redirects her mail
// to dave at another site. The copy dave's MX (smtp-sink) receives is
// DKIM-signed by alice's domain and carries an ARC set i=1, cv=none, of
// that domain, whose ARC-Authentication-Results are our MX's; dkimpy's
// verifiers pass both. A message that arrives already forwarded, with
// the ARC set dkimpy's arcsign adds for a mailing list, leaves with our
// set i=2, cv=pass over it, and dkimpy passes the chain of two.
func TestForwardedMailIsARCSealed(t *testing.T) {
	const (
		alice, sender, dave = "alice@example.net", "carol@sender.test", "dave@fwd.test"
		authservID          = "mail.test.example" // NewNode's hostname: the MX's authserv-id
	)
	port := FreePort(t)
	fwdMX := startSink(t, "127.0.0.31", port, "")
	d := startDNS(t, "fwd.test. 60 IN MX 10 mx.fwd.test.", "mx.fwd.test. 60 IN A 127.0.0.31")
	n := remoteNode(t, d, port, nil)
	n.AddUser(alice, "alice-secret-1")
	d.add(t, strings.TrimSpace(n.MustCLI("", "dkim", "keygen", "example.net", "--selector", "fwd")))
	script := filepath.Join(n.Dir, "fwd.sieve")
	os.WriteFile(script, []byte(`redirect "`+dave+`";`+"\n"), 0o644)
	n.MustCLI("", "sieve", "put", alice, script, "--activate")
	n.Start()
	host, dnsPort, _ := strings.Cut(d.Addr, ":")
	verify := func(m string) string {
		f := filepath.Join(t.TempDir(), "got.eml")
		os.WriteFile(f, []byte(toCRLF(m)), 0o600)
		return runDkimpy(t, "verify", f, host, dnsPort)
	}

	// 1. A message without a chain.
	msg := "From: Carol <" + sender + ">\r\nTo: " + alice + "\r\nSubject: forward me\r\n" +
		"Date: Wed, 2 Dec 2026 12:00:00 +0000\r\nMessage-ID: <arc-1@sender.test>\r\n\r\nhello  \r\nworld\r\n"
	wantReply(t, swaksMX(t, n, sender, alice, []byte(msg)), "250 2.0.0")
	got := fwdMX.wait(t, 1, n)[0]
	header, _ := splitMessage(t, toCRLF(got))
	if !regexp.MustCompile(`ARC-Seal: i=1; a=rsa-sha256; cv=none; d=example\.net; s=fwd;`).MatchString(header) ||
		!strings.Contains(header, "ARC-Authentication-Results: i=1; "+authservID+";\r\n\tspf=") ||
		!regexp.MustCompile(`DKIM-Signature: [^\r\n]*d=example\.net;`).MatchString(strings.NewReplacer("\r\n\t", " ", "\r\n ", " ").Replace(header)) {
		t.Fatalf("forwarded copy without our ARC set or DKIM-Signature:\n%s", header)
	}
	out := verify(got)
	mustContain(t, out, "arc: pass success", "set: 1 example.net none True True", "dkim: True")
	waitSpoolEmpty(t, n)

	// 2. A message a mailing list (list.test) forwarded and sealed with
	// dkimpy's arcsign, as i=1 of its chain.
	listKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	d.add(t, txtRecord(t, "arc._domainkey.list.test", listKey))
	keyFile := filepath.Join(t.TempDir(), "list.pem")
	writePEM(t, keyFile, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(listKey))
	listed := "Authentication-Results: mx.list.test; spf=pass smtp.mailfrom=" + sender + "\r\n" +
		strings.Replace(strings.Replace(msg, "forward me", "via the list", 1), "arc-1@", "arc-2@", 1)
	in := filepath.Join(t.TempDir(), "listed.eml")
	os.WriteFile(in, []byte(listed), 0o600)
	sealed := runDkimpy(t, "sign", in, keyFile, "list.test", "arc", "mx.list.test")
	if !strings.HasPrefix(sealed, "ARC-Seal: i=1;") {
		t.Fatalf("arcsign output:\n%s", sealed)
	}
	wantReply(t, swaksMX(t, n, "owner@list.test", alice, []byte(toCRLF(sealed))), "250 2.0.0")
	var second string
	for _, m := range fwdMX.wait(t, 2, n) {
		if strings.Contains(m, "Subject: via the list") {
			second = m
		}
	}
	header, _ = splitMessage(t, toCRLF(second))
	if !regexp.MustCompile(`ARC-Seal: i=2; a=rsa-sha256; cv=pass; d=example\.net; s=fwd;`).MatchString(header) ||
		!strings.Contains(header, "\tarc=pass\r\n") {
		t.Fatalf("second forward without our i=2 set, cv=pass, arc=pass:\n%s", header)
	}
	out = verify(second)
	mustContain(t, out, "arc: pass success", "set: 1 list.test none True True", "set: 2 example.net pass True True", "dkim: True")
	if t.Failed() {
		t.Logf("dkimpy:\n%s\nmessage:\n%s", out, second)
	}
}
