package web

import (
	"bufio"
	"crypto/tls"
	"encoding/binary"
	"io"
	"net"
	"testing"

	"mailgate/internal/certs"
)

// TestHTTP2StreamsPerConnectionAreCapped: the connection limiter counts
// connections, so the server must not let one HTTP/2 connection carry
// Go's default 250 requests at once. Read from the SETTINGS frame the
// server sends a real HTTP/2 client (RFC 9113 §3.4, §6.5).
func TestHTTP2StreamsPerConnectionAreCapped(t *testing.T) {
	s := newSite(t, nil)
	cert, err := certs.Load("", "", t.TempDir(), "mail.isp.example")
	if err != nil {
		t.Fatal(err)
	}
	srv := s.srv.NewHTTPServer(certs.ServerConfig(cert))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ServeTLS(srv, l)
	t.Cleanup(func() { srv.Close() })

	conn, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("ALPN %q, want h2", p)
	}
	// The client preface, then an empty SETTINGS frame.
	io.WriteString(conn, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	conn.Write([]byte{0, 0, 0, 0x4, 0, 0, 0, 0, 0})
	br := bufio.NewReader(conn)
	for {
		var hdr [9]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			t.Fatal(err)
		}
		n := int(hdr[0])<<16 | int(hdr[1])<<8 | int(hdr[2])
		payload := make([]byte, n)
		if _, err := io.ReadFull(br, payload); err != nil {
			t.Fatal(err)
		}
		if hdr[3] != 0x4 || hdr[4]&0x1 != 0 { // not SETTINGS, or its ACK
			continue
		}
		for i := 0; i+6 <= n; i += 6 {
			if binary.BigEndian.Uint16(payload[i:]) == 0x3 { // SETTINGS_MAX_CONCURRENT_STREAMS
				if v := binary.BigEndian.Uint32(payload[i+2:]); v != maxStreams {
					t.Fatalf("MAX_CONCURRENT_STREAMS %d, want %d", v, maxStreams)
				}
				return
			}
		}
		t.Fatalf("the server's SETTINGS do not limit concurrent streams (%x)", payload)
	}
}
