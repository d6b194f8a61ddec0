package e2e

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"testing"
)

// spkiSHA256 is the "x 1 1" TLSA data of the first certificate in a PEM file.
func spkiSHA256(t *testing.T, pemFile string) string {
	t.Helper()
	b, err := os.ReadFile(pemFile)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return hex.EncodeToString(sum[:])
}

// TestRemoteDANE: one real Postfix with a certificate from a CA the node
// does not trust, for mx.dane.test and mx.ta.test, its chain including the
// CA. The test's DNS server answers as a validating resolver would (AD=1)
// for the signed zones. RFC 7672:
//   - dane.test: "3 1 1" of Postfix's key → delivered, DANE-authenticated;
//   - ta.test: "2 1 1" of the CA, name in the certificate → delivered;
//   - wrong.test: "3 1 1" of another key → 4.7.5, never reaches Postfix;
//   - tabad.test: "2 1 1" of the CA, but the certificate does not name
//     mx.tabad.test → 4.7.5, never reaches Postfix;
//   - unsigned.test: a wrong TLSA record, but not validated → ignored,
//     delivered with opportunistic TLS.
func TestRemoteDANE(t *testing.T) {
	ca := newTestCA(t)
	other := newTestCA(t)
	mxCert, mxKey := ca.issue(t, false, "mx.dane.test", "mx.ta.test", "mx.wrong.test", "mx.unsigned.test")
	caPEM, err := os.ReadFile(ca.File)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(mxCert, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(caPEM) // the chain Postfix presents: leaf, then the CA (RFC 7671 §5.2.2)
	f.Close()
	port := FreePort(t)
	pf := startRemotePostfix(t, "127.0.0.1", port, "dane.test, ta.test, wrong.test, tabad.test, unsigned.test", mxCert, mxKey)

	ee, ta, wrong := spkiSHA256(t, mxCert), spkiSHA256(t, ca.File), spkiSHA256(t, other.File)
	var zone []string
	for _, z := range []struct{ dom, tlsa string }{
		{"dane.test", "3 1 1 " + ee}, {"ta.test", "2 1 1 " + ta}, {"wrong.test", "3 1 1 " + wrong},
		{"tabad.test", "2 1 1 " + ta}, {"unsigned.test", "3 1 1 " + wrong},
	} {
		zone = append(zone, fmt.Sprintf("%s. 60 IN MX 10 mx.%s.", z.dom, z.dom), fmt.Sprintf("mx.%s. 60 IN A 127.0.0.1", z.dom),
			fmt.Sprintf("_%d._tcp.mx.%s. 60 IN TLSA %s", port, z.dom, z.tlsa))
	}
	d := startDNS(t, zone...)
	d.sign("dane.test", "ta.test", "wrong.test", "tabad.test")
	n := remoteNode(t, d, port, map[string]string{"mta_sts": "false"})
	n.Start()
	for _, rc := range []string{"ed@dane.test", "tim@ta.test", "will@wrong.test", "tara@tabad.test", "uma@unsigned.test"} {
		submit(t, n, []string{rc}, []byte(msg(rmSender, rc, "to "+rc, "body\r\n")))
	}

	got := pf.wait(t, 3, n)
	waitQueue(t, n, `will@wrong\.test\s+[1-9]\s.*451 4\.7\.5 TLS handshake .*matches no TLSA record`)
	waitQueue(t, n, `tara@tabad\.test\s+[1-9]\s.*451 4\.7\.5 TLS handshake .*matches no TLSA record`)
	joined := strings.Join(got, "\n")
	for _, rc := range []string{"ed@dane.test", "tim@ta.test", "uma@unsigned.test"} {
		if !strings.Contains(joined, "Subject: to "+rc) {
			t.Errorf("no message for %s at the remote Postfix", rc)
		}
	}
	if len(pf.inbox()) != 3 {
		t.Errorf("remote Postfix holds %d messages, want 3", len(pf.inbox()))
	}
	for _, rc := range []string{"will@wrong.test", "tara@tabad.test"} {
		if strings.Contains(pf.Log(), rc) {
			t.Errorf("a transaction for %s reached Postfix:\n%s", rc, pf.Log())
		}
	}
	// The node's log says which deliveries DANE authenticated.
	for _, line := range strings.Split(n.Log(), "\n") {
		if !strings.Contains(line, "remote delivery") {
			continue
		}
		authed := strings.Contains(line, "DANE-authenticated")
		switch {
		case strings.Contains(line, "ed@dane.test"), strings.Contains(line, "tim@ta.test"):
			if !authed {
				t.Errorf("delivery not DANE-authenticated: %s", line)
			}
		case strings.Contains(line, "uma@unsigned.test"):
			if authed {
				t.Errorf("an unsigned TLSA record was used: %s", line)
			}
		}
	}
}
