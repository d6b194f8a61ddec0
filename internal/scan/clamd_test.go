package scan

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeClamd serves one connection per accept with handle.
func fakeClamd(t *testing.T, network, addr string, handle func(c net.Conn)) Endpoint {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); handle(c) }()
		}
	}()
	return Endpoint{network, l.Addr().String()}
}

// readInstream reads "zINSTREAM\0" and the chunks up to the zero length.
func readInstream(c net.Conn, limit int) ([]byte, []int, error) {
	cmd := make([]byte, 10)
	if _, err := io.ReadFull(c, cmd); err != nil || string(cmd) != "zINSTREAM\x00" {
		return nil, nil, errors.New("bad command " + string(cmd))
	}
	var body []byte
	var sizes []int
	for {
		var hdr [4]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return nil, nil, err
		}
		n := int(binary.BigEndian.Uint32(hdr[:]))
		if n == 0 {
			return body, sizes, nil
		}
		if limit > 0 && len(body)+n > limit {
			return body, sizes, errTooBig
		}
		sizes = append(sizes, n)
		chunk := make([]byte, n)
		if _, err := io.ReadFull(c, chunk); err != nil {
			return nil, nil, err
		}
		body = append(body, chunk...)
	}
}

var errTooBig = errors.New("too big")

// TestClamdInstreamFraming: the message goes as big-endian length-prefixed
// chunks of ChunkSize ending with a zero length, arrives whole, and the
// NUL-terminated FOUND answer gives the signature name; over TCP and a
// unix socket alike.
func TestClamdInstreamFraming(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789"), 25) // 250 bytes
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			addr := "127.0.0.1:0"
			if network == "unix" {
				addr = filepath.Join(t.TempDir(), "clamd.sock")
			}
			got := make(chan []int, 1)
			ep := fakeClamd(t, network, addr, func(c net.Conn) {
				b, sizes, err := readInstream(c, 0)
				if err != nil || !bytes.Equal(b, body) {
					c.Write([]byte("stream: bad framing ERROR\x00"))
					return
				}
				got <- sizes
				c.Write([]byte("stream: Eicar-Test-Signature.UNOFFICIAL FOUND\x00"))
			})
			c := &Clamd{Endpoint: ep, Timeout: 5 * time.Second, ChunkSize: 100}
			r, err := c.Scan(context.Background(), &Request{Body: body})
			if err != nil || r.Virus != "Eicar-Test-Signature.UNOFFICIAL" {
				t.Fatalf("Scan = %+v, %v", r, err)
			}
			if sizes := <-got; len(sizes) != 3 || sizes[0] != 100 || sizes[1] != 100 || sizes[2] != 50 {
				t.Fatalf("chunks %v, want [100 100 50]", sizes)
			}
		})
	}
}

// TestClamdSizeLimitReplyReadAfterWriteFails: clamd answers the size
// limit error and closes while we are still sending; the client's writes
// fail, yet it reads the answer and reports ErrTooLarge, not "down".
func TestClamdSizeLimitReplyReadAfterWriteFails(t *testing.T) {
	ep := fakeClamd(t, "tcp", "127.0.0.1:0", func(c net.Conn) {
		if _, _, err := readInstream(c, 1<<20); errors.Is(err, errTooBig) {
			c.Write([]byte("INSTREAM size limit exceeded. ERROR\x00"))
			// Closing with unread data sends a RST: the sender's next
			// write fails, as with the real clamd.
			c.(*net.TCPConn).SetLinger(0)
		}
	})
	c := &Clamd{Endpoint: ep, Timeout: 10 * time.Second}
	_, err := c.Scan(context.Background(), &Request{Body: bytes.Repeat([]byte("x"), 8<<20)})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Scan of 8 MiB over a 1 MiB limit = %v, want ErrTooLarge", err)
	}
}

// TestClamdDownAndSilent: a closed port is an error at once; a clamd that
// never answers is an error after Timeout, not a hang.
func TestClamdDownAndSilent(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	c := &Clamd{Endpoint: Endpoint{"tcp", addr}, Timeout: time.Second}
	if _, err := c.Scan(context.Background(), &Request{Body: []byte("x")}); err == nil || errors.Is(err, ErrTooLarge) {
		t.Fatalf("closed port: %v", err)
	}
	if err := c.Ping(context.Background()); err == nil {
		t.Fatal("Ping of a closed port succeeded")
	}
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	ep := fakeClamd(t, "tcp", "127.0.0.1:0", func(c net.Conn) { io.Copy(io.Discard, c); <-block })
	c = &Clamd{Endpoint: ep, Timeout: 200 * time.Millisecond}
	if _, err := c.Scan(context.Background(), &Request{Body: []byte("x")}); err == nil {
		t.Fatal("a silent clamd gave a verdict")
	}
}

// TestClamdPing: zPING\0 → PONG; anything else is unhealthy.
func TestClamdPing(t *testing.T) {
	answer := "PONG\x00"
	ep := fakeClamd(t, "tcp", "127.0.0.1:0", func(c net.Conn) {
		b := make([]byte, 6)
		if _, err := io.ReadFull(c, b); err == nil && string(b) == "zPING\x00" {
			c.Write([]byte(answer))
		}
	})
	c := &Clamd{Endpoint: ep, Timeout: time.Second}
	if err := c.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	answer = "UNKNOWN COMMAND\x00"
	if err := c.Ping(context.Background()); err == nil || !strings.Contains(err.Error(), "UNKNOWN COMMAND") {
		t.Fatalf("bad PING answer: %v", err)
	}
}

func TestParseClamdReply(t *testing.T) {
	for _, tc := range []struct {
		in, virus string
		err       error // nil: no error; errClamd: any error
	}{
		{"stream: OK", "", nil},
		{"stream: OK\n", "", nil},
		{"stream: Win.Test.EICAR_HDB-1 FOUND", "Win.Test.EICAR_HDB-1", nil},
		{"stream: Name With Space FOUND", "Name With Space", nil},
		{"INSTREAM size limit exceeded. ERROR", "", ErrTooLarge},
		{"stream: Can't allocate memory ERROR", "", errClamd},
		{"stream:  FOUND", "", errClamd},
		{"", "", errClamd},
		{"PONG", "", errClamd},
		{"stream: maybe", "", errClamd},
	} {
		v, err := ParseClamdReply(tc.in)
		if v != tc.virus || (tc.err == nil) != (err == nil) || tc.err == ErrTooLarge && !errors.Is(err, ErrTooLarge) {
			t.Errorf("ParseClamdReply(%q) = %q, %v; want %q, %v", tc.in, v, err, tc.virus, tc.err)
		}
	}
}

// FuzzParseClamdReply: any answer gives a name or an error, never both,
// never a crash.
func FuzzParseClamdReply(f *testing.F) {
	for _, s := range []string{"stream: OK", "stream: X FOUND", "INSTREAM size limit exceeded. ERROR", "stream: ERROR", "1: stream: OK", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseClamdReply(s)
		if v != "" && err != nil {
			t.Fatalf("%q: both %q and %v", s, v, err)
		}
		if err == nil && v == "" && strings.TrimSpace(s) != "stream: OK" {
			t.Fatalf("%q taken as clean", s)
		}
	})
}
