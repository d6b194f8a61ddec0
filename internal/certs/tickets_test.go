package certs

import (
	"crypto/tls"
	"net"
	"testing"
)

// TestTicketKeysResumeAcrossConfigs: a session from one server config
// resumes on another (another node) holding the same keys, through a
// Clone made before the keys were set (as net/http's ServeTLS makes),
// and still after a rotation keeps the old key second; a server without
// the key makes a full handshake, as does one with tickets disabled.
func TestTicketKeysResumeAcrossConfigs(t *testing.T) {
	cert, err := Load("", "", t.TempDir(), "mail.isp.example")
	if err != nil {
		t.Fatal(err)
	}
	server := func(k *TicketKeys) *tls.Config {
		c := ServerConfig(cert)
		k.Apply(c)
		return c
	}
	old, next := [32]byte{1}, [32]byte{2}
	var nodeA, nodeB, stranger TicketKeys
	a := server(&nodeA)
	b := server(&nodeB).Clone()
	nodeA.Set([][32]byte{old})
	nodeB.Set([][32]byte{old})
	stranger.Set([][32]byte{next})

	for _, version := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		name := tls.VersionName(version)
		client := &tls.Config{InsecureSkipVerify: true, MaxVersion: version, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
		if resumed(t, a, client) {
			t.Fatalf("%s: first handshake resumed", name)
		}
		if !resumed(t, b, client) {
			t.Fatalf("%s: node B did not resume node A's session", name)
		}
		if resumed(t, server(&stranger), client) {
			t.Fatalf("%s: a server without the key resumed", name)
		}
		off := ServerConfig(cert)
		nodeA.Apply(off)
		off.SessionTicketsDisabled = true
		if resumed(t, off, client) {
			t.Fatalf("%s: resumed with session tickets disabled", name)
		}
	}

	client := &tls.Config{InsecureSkipVerify: true, ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	resumed(t, a, client)
	nodeB.Set([][32]byte{next, old})
	if !resumed(t, b, client) {
		t.Fatal("a ticket under the previous key did not resume after a rotation")
	}
}

// resumed runs a handshake between srv and client over a pipe, reads one
// byte (in TLS 1.3 the ticket comes after the handshake) and reports
// whether the session was resumed.
func resumed(t *testing.T, srv, client *tls.Config) bool {
	t.Helper()
	cs, ss := net.Pipe()
	defer cs.Close()
	done := make(chan error, 1)
	go func() {
		s := tls.Server(ss, srv)
		_, err := s.Write([]byte{'+'})
		ss.Close() // no close_notify: the pipe would block until the client read it
		done <- err
	}()
	c := tls.Client(cs, client)
	if _, err := c.Read(make([]byte, 1)); err != nil {
		t.Fatalf("client: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("server: %v", err)
	}
	return c.ConnectionState().DidResume
}
