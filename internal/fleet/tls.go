// Package fleet makes several nodes on one PostgreSQL database behave as
// one server: each mailbox has a home node (internal/store), mail for a
// mailbox homed elsewhere is handed to its home over LMTP (RFC 2033), and
// IMAP/POP3 sessions are proxied there. Nodes speak to each other only
// over TLS with certificates from one fleet CA on both sides.
package fleet

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// ALPN protocol names (RFC 7301) on the internal listener: the TLS
// handshake itself says which service a connection is for.
const (
	ProtoLMTP = "mailgate-lmtp"
	ProtoIMAP = "mailgate-imap"
	ProtoPOP3 = "mailgate-pop3"
	// ProtoWeb carries webmail requests (HTTP/1.1) to the mailbox's home
	// node (Access.ProxyHTTP).
	ProtoWeb = "mailgate-web"
)

// Certs are the fleet CA and this node's certificate, and the TLS sessions
// this node holds with its peers.
type Certs struct {
	pool *x509.CertPool
	cert tls.Certificate
	// sessions lets a connection to a peer resume the last session with
	// it (RFC 8446 §2.2): peers issue tickets under the store's shared
	// keys, so one still resumes after the peer restarted.
	sessions tls.ClientSessionCache
}

// peerSessions is how many peers' sessions a node keeps: one each (Go
// keys a session by the server name, the peer's node name).
const peerSessions = 256

// LoadCerts reads the fleet CA and this node's certificate and key (PEM).
func LoadCerts(caFile, certFile, keyFile string) (*Certs, error) {
	b, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("fleet.ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("fleet.ca_file %s: no PEM certificate in it", caFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("fleet.cert_file/key_file: %w", err)
	}
	return &Certs{pool: pool, cert: cert, sessions: tls.NewLRUClientSessionCache(peerSessions)}, nil
}

// ServerConfig is the internal listener's TLS: only clients with a
// certificate from the fleet CA get in.
func (c *Certs) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{c.cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    c.pool,
		NextProtos:   []string{ProtoLMTP, ProtoIMAP, ProtoPOP3, ProtoMove, ProtoWeb},
	}
}

// ClientConfig is the TLS for dialing node: its certificate must come from
// the fleet CA and name the node (so one node cannot pose as another),
// and ours goes the other way.
func (c *Certs) ClientConfig(node, proto string) *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{c.cert},
		RootCAs:      c.pool,
		ServerName:   node,
		NextProtos:   []string{proto},
		// One session per peer whatever the protocol: ALPN is
		// negotiated afresh in a resumed handshake (RFC 8446 §4.6.1).
		ClientSessionCache: c.sessions,
	}
}
