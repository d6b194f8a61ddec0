package smtp_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// mailgate: a multi-line reply is one write, so one TLS record and one
// segment, not one per line.

type writesListener struct {
	net.Listener
	mu     sync.Mutex
	writes []string
}

func (l *writesListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &writesConn{Conn: c, l: l}, nil
}

type writesConn struct {
	net.Conn
	l *writesListener
}

func (c *writesConn) Write(b []byte) (int, error) {
	c.l.mu.Lock()
	c.l.writes = append(c.l.writes, string(b))
	c.l.mu.Unlock()
	return c.Conn.Write(b)
}

func TestServer_MultilineReplyIsOneWrite(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &writesListener{Listener: inner}
	s := smtp.NewServer(new(backend))
	s.Domain = "localhost"
	s.AllowInsecureAuth = true
	go s.Serve(l)
	defer s.Close()

	c, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if _, err := r.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "EHLO localhost\r\n")
	lines := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		lines++
		if strings.HasPrefix(line, "250 ") {
			break
		}
	}
	if lines < 3 {
		t.Fatalf("EHLO reply has %d lines, want several", lines)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.writes) != 2 {
		t.Fatalf("greeting and a %d-line EHLO reply took %d writes, want 2: %q", lines, len(l.writes), l.writes)
	}
	if got := strings.Count(l.writes[1], "\r\n"); got != lines {
		t.Errorf("EHLO reply write holds %d lines, want %d", got, lines)
	}
}
