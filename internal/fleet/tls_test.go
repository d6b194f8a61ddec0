package fleet

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mailgate/internal/certs"
)

// testCA writes a CA and certificates for names into a directory.
type testCA struct {
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t *testing.T) *testCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fleet CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{dir: t.TempDir(), cert: cert, key: key}
	write(t, filepath.Join(ca.dir, "ca.pem"), "CERTIFICATE", der)
	return ca
}

func (ca *testCA) certs(t *testing.T, name string) *Certs {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	write(t, filepath.Join(ca.dir, name+".pem"), "CERTIFICATE", der)
	write(t, filepath.Join(ca.dir, name+".key"), "EC PRIVATE KEY", kder)
	c, err := LoadCerts(filepath.Join(ca.dir, "ca.pem"), filepath.Join(ca.dir, name+".pem"), filepath.Join(ca.dir, name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func write(t *testing.T, path, typ string, der []byte) {
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// greeter is an LMTP stand-in: it greets every connection.
type greeter struct{}

func (greeter) Serve(l net.Listener) error {
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		io.WriteString(c, "220 ready\r\n")
		c.Close()
	}
}

// TestInternalListenerNeedsFleetCertificates: only a client with a
// certificate from the fleet CA reaches a service; a client reaching
// node-b gets only a certificate naming node-b.
func TestInternalListenerNeedsFleetCertificates(t *testing.T) {
	ca := newTestCA(t)
	b := ca.certs(t, "node-b")
	a := ca.certs(t, "node-a")
	stranger := newTestCA(t).certs(t, "node-a")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go (&Listener{TLS: b.ServerConfig(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)), LMTP: greeter{}}).Serve(l)

	greeting := func(cfg *tls.Config) (string, error) {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", l.Addr().String(), cfg)
		if err != nil {
			return "", err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		return string(buf[:n]), err
	}
	if g, err := greeting(a.ClientConfig("node-b", ProtoLMTP)); err != nil || g != "220 ready\r\n" {
		t.Fatalf("fleet node: %q, %v", g, err)
	}
	if _, err := greeting(a.ClientConfig("node-c", ProtoLMTP)); err == nil {
		t.Fatal("node-b's certificate was accepted as node-c's")
	}
	foreign := stranger.ClientConfig("node-b", ProtoLMTP)
	foreign.RootCAs = a.pool // it trusts node-b: only node-b's check can stop it
	if _, err := greeting(foreign); err == nil {
		t.Fatal("a certificate from another CA got in")
	}
	noCert := a.ClientConfig("node-b", ProtoLMTP)
	noCert.Certificates = nil
	noCert.ClientSessionCache = nil // nor a session made with one
	if _, err := greeting(noCert); err == nil {
		t.Fatal("a client without a certificate got in")
	}
	if _, err := greeting(a.ClientConfig("node-b", ProtoIMAP)); err == nil {
		t.Fatal("a service not served here answered")
	}
}

// TestPeerSessionResumesAfterRestart: a node's next connection to a peer
// resumes its TLS session (RFC 8446 §2.2), whatever the service, and
// still after the peer restarted when the peer's tickets are under the
// store's keys (a new process, the same keys); with a restarted peer's
// own per-process key it is a full handshake.
func TestPeerSessionResumesAfterRestart(t *testing.T) {
	ca := newTestCA(t)
	a, b := ca.certs(t, "node-a"), ca.certs(t, "node-b")
	storeKey := [][32]byte{{7}}
	// start runs node-b's internal listener in a new "process": a fresh
	// config, with the store's keys when shared.
	start := func(shared bool) net.Listener {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conf := b.ServerConfig()
		if shared {
			var keys certs.TicketKeys
			keys.Set(storeKey)
			keys.Apply(conf)
		}
		move := func(c net.Conn) { io.WriteString(c, "220 ready\r\n"); c.Close() }
		go (&Listener{TLS: conf, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), LMTP: greeter{}, Move: move}).Serve(l)
		return l
	}
	resumed := func(l net.Listener, proto string) bool {
		t.Helper()
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", l.Addr().String(), a.ClientConfig("node-b", proto))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		// In TLS 1.3 the ticket comes after the handshake: read the
		// greeting so it has arrived.
		if g, err := io.ReadAll(c); err != nil || string(g) != "220 ready\r\n" {
			t.Fatalf("greeting %q, %v", g, err)
		}
		return c.ConnectionState().DidResume
	}
	l := start(true)
	if resumed(l, ProtoLMTP) {
		t.Fatal("the first connection resumed")
	}
	if !resumed(l, ProtoMove) {
		t.Fatal("the second connection, another service, did not resume")
	}
	l.Close()
	l = start(true)
	if !resumed(l, ProtoLMTP) {
		t.Fatal("no resumption after the peer restarted with the store's keys")
	}
	l.Close()
	l = start(false)
	defer l.Close()
	if resumed(l, ProtoLMTP) {
		t.Fatal("resumed on a peer restarted with its own per-process key")
	}
}
