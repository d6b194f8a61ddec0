package e2e

import (
	"crypto/tls"
	"net"
	"testing"
	"time"
)

// Issue 15 "what held": testssl flagged the ECDHE AES-CBC-SHA suites as
// obsolete (RFC 9325 §4.2). A TLS 1.2 client offering only CBC suites gets
// no handshake on 465 nor after STARTTLS on the MX; offering the defaults,
// it gets an ECDHE AEAD suite.
func TestTLS12RefusesCBCSuites(t *testing.T) {
	n := submissionNode(t, "")
	cbc := &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
		tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	}}
	if c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", n.Addr("submissions"), cbc); err == nil {
		c.Close()
		t.Fatalf("465: TLS 1.2 handshake with only CBC suites succeeded (%s)", tls.CipherSuiteName(c.ConnectionState().CipherSuite))
	}
	mx := dialRaw(t, n.Addr("mx"))
	mx.cmd("EHLO client.test", "250 ")
	mx.cmd("STARTTLS", "220 ")
	tc := tls.Client(mx.conn, cbc)
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err == nil {
		t.Fatalf("MX STARTTLS: TLS 1.2 handshake with only CBC suites succeeded (%s)", tls.CipherSuiteName(tc.ConnectionState().CipherSuite))
	}
	v12 := &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", n.Addr("submissions"), v12)
	if err != nil {
		t.Fatalf("465: TLS 1.2 with the default suites: %v", err)
	}
	defer c.Close()
	if s := c.ConnectionState().CipherSuite; s != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 && s != tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 && s != tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 {
		t.Fatalf("465: negotiated %s, want an ECDHE-ECDSA AEAD suite", tls.CipherSuiteName(s))
	}
}
