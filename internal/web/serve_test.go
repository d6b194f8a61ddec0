package web

import (
	"net"
	"net/http"
	"testing"

	"mailgate/internal/certs"
)

// TestServeEndsCleanlyWhenItsListenerCloses: the node closes the web
// listeners before shutting the servers down, and Serve and ServeTLS then
// return nil, so a graceful stop logs no "web listener failed".
func TestServeEndsCleanlyWhenItsListenerCloses(t *testing.T) {
	for name, serve := range map[string]func(*http.Server, net.Listener) error{"Serve": Serve, "ServeTLS": ServeTLS} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{}
		if name == "ServeTLS" {
			cert, err := certs.Load("", "", t.TempDir(), "mail.isp.example")
			if err != nil {
				t.Fatal(err)
			}
			srv.TLSConfig = certs.ServerConfig(cert)
		}
		done := make(chan error, 1)
		go func() { done <- serve(srv, l) }()
		l.Close()
		if err := <-done; err != nil {
			t.Errorf("%s after its listener closed: %v", name, err)
		}
	}
}
