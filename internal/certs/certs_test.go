package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSelfSignedIsGeneratedOnceAndReused(t *testing.T) {
	dir := t.TempDir()
	c1, err := Load("", "", dir, "mail.isp.example")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(c1.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Errorf("key is %T, want ECDSA", leaf.PublicKey)
	}
	for _, host := range []string{"mail.isp.example", "localhost", "127.0.0.1", "::1"} {
		if err := leaf.VerifyHostname(host); err != nil {
			t.Errorf("certificate does not cover %s: %v", host, err)
		}
	}
	if fi, _ := os.Stat(filepath.Join(dir, "selfsigned.key")); fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	c2, err := Load("", "", dir, "other.example")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(c1.Certificate[0], c2.Certificate[0]) {
		t.Error("second start generated a new certificate instead of reusing the first")
	}
}

func TestServerConfigRefusesOldTLS(t *testing.T) {
	if ServerConfig(tls.Certificate{}).MinVersion != tls.VersionTLS12 {
		t.Fatal("TLS minimum is not 1.2 (RFC 8997)")
	}
}

func TestMissingFilesSayWhichSetting(t *testing.T) {
	_, err := Load("/nonexistent/cert.pem", "/nonexistent/key.pem", t.TempDir(), "h.example")
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("tls.cert_file")) {
		t.Fatalf("error %v does not name the setting", err)
	}
}

// handshake runs a real TLS handshake between ServerConfig(cert) and a
// client over an in-memory pipe, and returns the client's result.
func handshake(t *testing.T, cert tls.Certificate, client *tls.Config) (tls.ConnectionState, error) {
	t.Helper()
	cs, ss := net.Pipe()
	defer cs.Close()
	srv := tls.Server(ss, ServerConfig(cert))
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Handshake()
		ss.Close()
	}()
	c := tls.Client(cs, client)
	err := c.Handshake()
	cs.Close()
	<-done
	return c.ConnectionState(), err
}

func rsaCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"mail.isp.example"}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// Issue 15 "what held": testssl flagged ECDHE with AES-CBC-SHA as
// obsolete (RFC 9325 §4.2). A TLS 1.2 client offering only those suites
// gets no handshake, with an ECDSA (the self-signed default) or an RSA
// certificate; one offering AEAD suites gets one of them.
func TestTLS12OffersOnlyAEADSuites(t *testing.T) {
	ecdsaCert, err := Load("", "", t.TempDir(), "mail.isp.example")
	if err != nil {
		t.Fatal(err)
	}
	cbc := []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
		tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
		tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	}
	for name, cert := range map[string]tls.Certificate{"ecdsa": ecdsaCert, "rsa": rsaCert(t)} {
		t.Run(name, func(t *testing.T) {
			old := &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, CipherSuites: cbc}
			if st, err := handshake(t, cert, old); err == nil {
				t.Fatalf("TLS 1.2 handshake with only CBC / non-ECDHE suites succeeded: %s", tls.CipherSuiteName(st.CipherSuite))
			}
			aead := &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12}
			st, err := handshake(t, cert, aead)
			if err != nil {
				t.Fatalf("TLS 1.2 handshake with default client suites: %v", err)
			}
			if name := tls.CipherSuiteName(st.CipherSuite); !strings.HasPrefix(name, "TLS_ECDHE_") || !(strings.Contains(name, "_GCM_") || strings.Contains(name, "CHACHA20")) {
				t.Fatalf("negotiated %s, want an ECDHE AEAD suite", name)
			}
		})
	}
}
