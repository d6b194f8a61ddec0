package smtp_test

import (
	"bufio"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

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

// mailgate: the replies to a pipelined group leave in one write (RFC 2920
// §3.1), and a reply is never held while the server waits for input.

func pipelineServer(t *testing.T) (*writesListener, net.Conn, *bufio.Reader) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &writesListener{Listener: inner}
	s := smtp.NewServer(new(backend))
	s.Domain = "localhost"
	s.AllowInsecureAuth = true
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	c, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := bufio.NewReader(c)
	readReply(t, r) // greeting
	io.WriteString(c, "EHLO localhost\r\n")
	readReply(t, r)
	return l, c, r
}

// readReply reads one (possibly multi-line) reply and returns its last line.
func readReply(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if len(line) < 4 || line[3] != '-' {
			return line
		}
	}
}

func (l *writesListener) writesSince(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.writes[n:]...)
}

func TestServer_PipelinedRepliesAreOneWrite(t *testing.T) {
	l, c, r := pipelineServer(t)
	before := len(l.writesSince(0))
	io.WriteString(c, "MAIL FROM:<root@nsa.gov>\r\nRCPT TO:<root@gchq.gov.uk>\r\nRCPT TO:<root@bnd.bund.de>\r\nDATA\r\n")
	for _, want := range []string{"250 ", "250 ", "250 ", "354 "} {
		if got := readReply(t, r); !strings.HasPrefix(got, want) {
			t.Fatalf("reply %q, want %q", got, want)
		}
	}
	writes := l.writesSince(before)
	if len(writes) != 1 {
		t.Fatalf("four pipelined commands were answered in %d writes, want 1: %q", len(writes), writes)
	}
	io.WriteString(c, "Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n")
	if got := readReply(t, r); !strings.HasPrefix(got, "250 ") {
		t.Fatalf("end of data: %q", got)
	}
	if got := readReply(t, r); !strings.HasPrefix(got, "221 ") {
		t.Fatalf("QUIT: %q", got)
	}
}

func TestServer_ReplyNotHeldForAPartialCommand(t *testing.T) {
	_, c, r := pipelineServer(t)
	// The MAIL line is complete, the next one is not: the server must
	// answer MAIL although it has unread input.
	io.WriteString(c, "MAIL FROM:<root@nsa.gov>\r\nRCPT TO:<root@gch")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if got := readReply(t, r); !strings.HasPrefix(got, "250 ") {
		t.Fatalf("MAIL: %q", got)
	}
	io.WriteString(c, "q.gov.uk>\r\n")
	if got := readReply(t, r); !strings.HasPrefix(got, "250 ") {
		t.Fatalf("RCPT: %q", got)
	}
}
