package netlimit

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// Conn is an admitted connection. Closing it frees its slot; until
// LoggedIn is called, no read deadline it is given reaches past the login
// deadline, which also bounds an implicit-TLS handshake (its reads are
// ours). A deadline on the socket costs no goroutine or timer per idle
// connection.
type Conn struct {
	net.Conn
	lim *Limiter
	key netip.Addr

	// Guarded by lim.mu: the source's list, and whether the slot was
	// given back (by Close, or when the client was seen gone).
	prev, next *Conn
	released   bool

	mu      sync.Mutex
	loginBy time.Time // zero: no login deadline (none set, or logged in)
	readBy  time.Time // the read deadline the session last asked for
}

func newConn(raw net.Conn, lim *Limiter) *Conn {
	c := &Conn{Conn: raw, lim: lim, key: sourceKey(raw.RemoteAddr())}
	if d := lim.limits.LoginTimeout; d > 0 {
		c.loginBy = time.Now().Add(d)
		raw.SetReadDeadline(c.loginBy)
	}
	return c
}

// Close frees the slot and closes the connection.
func (c *Conn) Close() error {
	c.lim.release(c)
	return c.Conn.Close()
}

// NetConn returns the socket under c.
func (c *Conn) NetConn() net.Conn { return c.Conn }

// SyscallConn gives the socket's raw access, as *net.TCPConn does (the MX
// peeks for input sent before its greeting).
func (c *Conn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return sc.SyscallConn()
}

// SetReadDeadline sets t, or the login deadline if that comes first.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.readBy = t
	return c.Conn.SetReadDeadline(c.clampLocked(t))
}

// SetDeadline sets the write deadline to t and the read deadline as
// SetReadDeadline does.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.Conn.SetWriteDeadline(t); err != nil {
		return err
	}
	return c.SetReadDeadline(t)
}

func (c *Conn) clampLocked(t time.Time) time.Time {
	if !c.loginBy.IsZero() && (t.IsZero() || t.After(c.loginBy)) {
		return c.loginBy
	}
	return t
}

func (c *Conn) loggedIn() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.loginBy.IsZero() {
		return
	}
	c.loginBy = time.Time{}
	c.Conn.SetReadDeadline(c.readBy)
}

func (c *Conn) loginExpired() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.loginBy.IsZero() && !time.Now().Before(c.loginBy)
}

// LoggedIn lifts the login deadline of c: call it once the client has
// authenticated. c may be a wrapper of a *Conn (a *tls.Conn, anything
// with a NetConn method); connections of other listeners are ignored.
func LoggedIn(c net.Conn) {
	if lc := find(c); lc != nil {
		lc.loggedIn()
	}
}

// LoginExpired reports whether c's login deadline has passed without a
// login: a read that failed now failed because of it, and the session
// should say so (its protocol's reply) before closing.
func LoginExpired(c net.Conn) bool {
	lc := find(c)
	return lc != nil && lc.loginExpired()
}

// find unwraps c down to the *Conn it was built on, if any.
func find(c net.Conn) *Conn {
	for c != nil {
		switch v := c.(type) {
		case *Conn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
	return nil
}
