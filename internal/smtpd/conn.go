package smtpd

import (
	"crypto/tls"
	"net"
	"sync/atomic"
)

// trackedConn wraps each accepted connection so a session can ask for the
// connection to be closed right after its next reply is written (go-smtp
// has no hook for that), e.g. after too many failed AUTH attempts.
type trackedConn struct {
	net.Conn
	closeAfterWrite atomic.Bool
}

func (c *trackedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if c.closeAfterWrite.Load() {
		c.Conn.Close()
	}
	return n, err
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
