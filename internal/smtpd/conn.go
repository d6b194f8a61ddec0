package smtpd

import (
	"bytes"
	"crypto/tls"
	"net"
	"sync/atomic"
	"syscall"

	"github.com/emersion/go-smtp"
	"golang.org/x/sys/unix"
)

// trackedConn wraps each accepted connection. It lets a session ask for the
// connection to be closed right after its next reply (go-smtp has no hook
// for that), and it counts the command lines read off the socket before
// TLS, which is how the MX spots a client that talks before it may
// (pre-greeting, or pipelining before the EHLO reply).
type trackedConn struct {
	net.Conn
	closeAfterWrite atomic.Bool
	linesRead       atomic.Int64
	linesAtWrite    atomic.Int64 // linesRead when we last replied
	firstVerb       [4]byte      // the client's first command, to tell HELO from EHLO
	firstLen        int
	errors          atomic.Int64 // refused commands, for max_errors
	// refusal is the MX's reply instead of the greeting, set before the
	// connection is handed to the server (mxListener.admit).
	refusal *smtp.SMTPError
}

// NetConn returns the connection under c (netlimit.LoggedIn finds its
// login deadline through it).
func (c *trackedConn) NetConn() net.Conn { return c.Conn }

func (c *trackedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if c.firstLen < len(c.firstVerb) {
		c.firstLen += copy(c.firstVerb[c.firstLen:], b[:n])
	}
	c.linesRead.Add(int64(bytes.Count(b[:n], []byte{'\n'})))
	return n, err
}

func (c *trackedConn) Write(b []byte) (int, error) {
	c.linesAtWrite.Store(c.linesRead.Load())
	n, err := c.Conn.Write(b)
	if c.closeAfterWrite.Load() {
		c.Close()
	}
	return n, err
}

// unrepliedLines is how many lines the client sent since our last reply
// beyond the one being handled, plus any still unread in the socket: a
// client that waits for each reply has none.
func (c *trackedConn) unrepliedLines() int64 {
	n := c.linesRead.Load() - c.linesAtWrite.Load() - 1
	if c.pendingInput() {
		n++
	}
	return n
}

// saidHELO reports whether the client opened with HELO rather than EHLO:
// such a client has not been offered PIPELINING (RFC 2920) at all.
func (c *trackedConn) saidHELO() bool {
	return c.firstLen == 4 && bytes.EqualFold(c.firstVerb[:], []byte("HELO"))
}

// pendingInput reports whether the client has sent bytes we have not read
// yet, without reading or waiting (MSG_PEEK|MSG_DONTWAIT on the socket).
func (c *trackedConn) pendingInput() bool {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	pending := false
	var buf [1]byte
	raw.Read(func(fd uintptr) bool {
		n, _, err := unix.Recvfrom(int(fd), buf[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		pending = err == nil && n > 0
		return true
	})
	return pending
}

type trackedListener struct{ net.Listener }

func (l trackedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &trackedConn{Conn: c}, nil
}

// tracked finds our wrapper under a possibly TLS-wrapped connection.
func tracked(c net.Conn) *trackedConn {
	for {
		switch v := c.(type) {
		case *trackedConn:
			return v
		case *tls.Conn:
			c = v.NetConn()
		default:
			return nil
		}
	}
}
