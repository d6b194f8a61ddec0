package scan

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"mailgate/internal/metrics"
)

// Clamd is a client of ClamAV's daemon. It opens one connection per
// command: clamd answers one command per connection unless IDSESSION is
// used, and closes an IDSESSION after any INSTREAM error, so a pool would
// save only the loopback connect (well under a millisecond).
type Clamd struct {
	Endpoint Endpoint
	// Timeout bounds one whole command: connect, send, and clamd's answer.
	Timeout time.Duration
	// ChunkSize is the INSTREAM chunk length; 0 means 64 KiB.
	ChunkSize int
}

// Name implements Scanner.
func (c *Clamd) Name() string { return "clamd" }

// Scan sends the message with INSTREAM and reports a signature match.
// The protocol (clamd(8), "INSTREAM"): "zINSTREAM\0", then chunks, each a
// 4-byte big-endian length and that many bytes, then a zero length; the
// reply is NUL-terminated: "stream: OK", "stream: NAME FOUND" or
// "... ERROR".
func (c *Clamd) Scan(ctx context.Context, req *Request) (*Result, error) {
	defer metrics.ObserveScan("clamd", time.Now())
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	werr := c.stream(conn, req.Body)
	// Over StreamMaxLength clamd answers "INSTREAM size limit exceeded.
	// ERROR" and closes: our next write fails with EPIPE/ECONNRESET, but
	// the answer is already waiting. Read it whatever the write said.
	reply, rerr := readReply(conn)
	if rerr != nil || reply == "" {
		if werr != nil {
			return nil, fmt.Errorf("clamd %s: send: %w", c.Endpoint, werr)
		}
		return nil, fmt.Errorf("clamd %s: read reply: %v", c.Endpoint, rerr)
	}
	virus, err := ParseClamdReply(reply)
	if err != nil {
		return nil, fmt.Errorf("clamd %s: %w", c.Endpoint, err)
	}
	return &Result{Virus: virus}, nil
}

func (c *Clamd) stream(conn net.Conn, body []byte) error {
	if _, err := conn.Write([]byte("zINSTREAM\x00")); err != nil {
		return err
	}
	size := c.ChunkSize
	if size <= 0 {
		size = 64 << 10
	}
	var hdr [4]byte
	for len(body) > 0 {
		n := min(size, len(body))
		binary.BigEndian.PutUint32(hdr[:], uint32(n))
		if _, err := conn.Write(hdr[:]); err != nil {
			return err
		}
		if _, err := conn.Write(body[:n]); err != nil {
			return err
		}
		body = body[n:]
	}
	binary.BigEndian.PutUint32(hdr[:], 0)
	_, err := conn.Write(hdr[:])
	return err
}

// Ping is clamd's PING → PONG.
func (c *Clamd) Ping(ctx context.Context) error {
	conn, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("zPING\x00")); err != nil {
		return fmt.Errorf("clamd %s: %w", c.Endpoint, err)
	}
	reply, err := readReply(conn)
	if err != nil {
		return fmt.Errorf("clamd %s: %w", c.Endpoint, err)
	}
	if reply != "PONG" {
		return fmt.Errorf("clamd %s: PING answered %q, want PONG", c.Endpoint, reply)
	}
	return nil
}

func (c *Clamd) dial(ctx context.Context) (net.Conn, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	d := net.Dialer{Deadline: deadline}
	conn, err := d.DialContext(ctx, c.Endpoint.Network, c.Endpoint.Address)
	if err != nil {
		return nil, fmt.Errorf("clamd %s: %w", c.Endpoint, err)
	}
	conn.SetDeadline(deadline)
	return conn, nil
}

// maxReply bounds what we read of an answer: a signature name is short.
const maxReply = 4096

// readReply reads one NUL-terminated answer (or up to EOF: clamd closes
// after answering).
func readReply(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxReply))
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b, err = b[:i], nil
	}
	if err != nil && len(b) == 0 {
		return "", err
	}
	return strings.TrimRight(string(b), "\x00\r\n"), nil
}

// errClamd is an ERROR answer from clamd.
var errClamd = errors.New("clamd error")

// ParseClamdReply reads an INSTREAM answer: the signature name for
// "stream: NAME FOUND", "" for "stream: OK", ErrTooLarge for the size
// limit, an error for any other "... ERROR" or an answer it does not know.
func ParseClamdReply(reply string) (virus string, err error) {
	reply = strings.TrimSpace(reply)
	// An IDSESSION answer is prefixed "N: "; INSTREAM's is "stream: ".
	rest, ok := strings.CutPrefix(reply, "stream: ")
	switch {
	case strings.HasSuffix(reply, " ERROR") || reply == "ERROR":
		if strings.Contains(reply, "size limit exceeded") {
			return "", ErrTooLarge
		}
		return "", fmt.Errorf("%w: %q", errClamd, reply)
	case !ok:
		return "", fmt.Errorf("unexpected answer %q", reply)
	case rest == "OK":
		return "", nil
	case strings.HasSuffix(rest, " FOUND"):
		name := strings.TrimSpace(strings.TrimSuffix(rest, " FOUND"))
		if name == "" {
			return "", fmt.Errorf("FOUND without a signature name: %q", reply)
		}
		return name, nil
	}
	return "", fmt.Errorf("unexpected answer %q", reply)
}
