package certs

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
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
