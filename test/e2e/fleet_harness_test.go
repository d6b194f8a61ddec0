package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailgate/internal/store/storetest"
)

// fleetCA is a fleet CA made for one test: it signs each node's
// certificate (DNS SAN = node name, serverAuth + clientAuth).
type fleetCA struct {
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newFleetCA(t *testing.T) *fleetCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailgate test fleet CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &fleetCA{dir: t.TempDir(), cert: cert, key: key}
	writePEM(t, filepath.Join(ca.dir, "ca.pem"), "CERTIFICATE", der)
	return ca
}

// issue writes name.pem and name.key signed by the CA and returns the
// [fleet] file settings for them.
func (ca *fleetCA) issue(t *testing.T, name string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(ca.dir, name+".pem"), filepath.Join(ca.dir, name+".key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", kder)
	return fmt.Sprintf("ca_file = %q\ncert_file = %q\nkey_file = %q\n", filepath.Join(ca.dir, "ca.pem"), certFile, keyFile)
}

// fleetRetry makes queued hand-offs retry within a test's patience.
const fleetRetry = "[delivery]\nretry_initial = \"200ms\"\nretry_max = \"500ms\"\nscan_interval = \"200ms\"\n"

// fleetNode is one node of a test fleet with its name, internal port and
// the fleet CA and certificate files in its config.
type fleetNode struct {
	*Node
	Name     string
	Internal int
	CAFile   string
	CertFile string
	KeyFile  string
}

// newFleet writes the configs of nodes sharing one fresh PostgreSQL
// database (named node-a, node-b, ...), each with its data dir, ports and
// certificate from one fleet CA. extra goes into every config.
func newFleet(t *testing.T, count int, extra string) []*fleetNode {
	t.Helper()
	dsn := storetest.PostgresDSN(t)
	ca := newFleetCA(t)
	var out []*fleetNode
	for i := 0; i < count; i++ {
		name := "node-" + string(rune('a'+i))
		port := FreePort(t)
		toml := fmt.Sprintf("%s[fleet]\nnode = %q\nlisten = \"127.0.0.1:%d\"\nheartbeat = \"200ms\"\n%s", extra, name, port, ca.issue(t, name))
		out = append(out, &fleetNode{Node: NewNode(t, dsn, toml), Name: name, Internal: port,
			CAFile: filepath.Join(ca.dir, "ca.pem"), CertFile: filepath.Join(ca.dir, name+".pem"), KeyFile: filepath.Join(ca.dir, name+".key")})
	}
	return out
}

// fleetSendScript submits count messages from user to rcpt through the
// submissions ports given (host:port,...), round robin, one session each,
// subjects "<tag>-<i>", and prints how many were accepted.
const fleetSendScript = `
import smtplib, ssl, sys
addrs = [a.rsplit(":", 1) for a in sys.argv[1].split(",")]
user, pw, rcpt, tag, count = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
ok = 0
for i in range(count):
    host, port = addrs[i % len(addrs)]
    s = smtplib.SMTP_SSL(host, int(port), context=ctx, timeout=60)
    s.login(user, pw)
    msg = "From: %s\r\nTo: %s\r\nSubject: %s-%d\r\nMessage-ID: <%s-%d@fleet.test>\r\n\r\nmessage %d via %s:%s\r\n" % (user, rcpt, tag, i, tag, i, i, host, port)
    s.sendmail(user, [rcpt], msg.encode())
    s.quit()
    ok += 1
print(ok)
`

// fleetSend runs fleetSendScript and fails unless every message was
// accepted.
func fleetSend(t *testing.T, via []*fleetNode, rcpt, tag string, count int) {
	t.Helper()
	NeedTool(t, "python3")
	var addrs []string
	for _, n := range via {
		addrs = append(addrs, n.Addr("submissions"))
	}
	out, err := exec.Command("python3", "-c", fleetSendScript, strings.Join(addrs, ","), alice, alicePW, rcpt, tag, fmt.Sprint(count)).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != fmt.Sprint(count) {
		t.Fatalf("submitting %d messages: %v\n%s\nlog of %s:\n%s", count, err, out, via[0].Name, via[0].Log())
	}
}

// subjects returns the Subject values of the messages at paths, sorted by
// nothing: callers count and compare sets.
func subjects(t *testing.T, paths []string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "Subject: "); ok {
				out[strings.TrimRight(v, "\r")]++
				break
			}
		}
	}
	return out
}
