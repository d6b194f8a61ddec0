package imapd

import (
	"crypto/tls"
	"net"
	"sync"
	"time"
)

// go-imap flushes its buffer after every response line, so a FETCH of
// 100k messages becomes 100k TLS records and write(2)s, and the client
// decrypts 100k records. coalescedConn gathers those writes above TLS and
// sends them as few large records: at once when 16 KiB are pending or the
// connection is about to read (the client waits for our answer), else
// after a short delay (unsolicited IDLE updates).
type coalescedConn struct {
	*tls.Conn
	mu       sync.Mutex
	buf      []byte
	timer    *time.Timer
	err      error
	deadline time.Time // write deadline, applied when the buffer goes out
}

// flushTimeout bounds a write the caller set no deadline for.
const flushTimeout = 5 * time.Minute

// SetWriteDeadline only records the deadline: go-imap sets and clears it
// around every response line, and nothing reaches the network until the
// buffer is flushed.
func (c *coalescedConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return nil
}

func (c *coalescedConn) SetDeadline(t time.Time) error {
	c.SetWriteDeadline(t)
	return c.Conn.SetReadDeadline(t)
}

const (
	coalesceMax   = 16 << 10
	coalesceDelay = 500 * time.Microsecond
)

func (c *coalescedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return 0, c.err
	}
	c.buf = append(c.buf, p...)
	if len(c.buf) >= coalesceMax {
		return len(p), c.flushLocked()
	}
	if c.timer == nil {
		c.timer = time.AfterFunc(coalesceDelay, c.flush)
	} else {
		c.timer.Reset(coalesceDelay)
	}
	return len(p), nil
}

// flush is the delay's: the connection has gone quiet, so the buffer
// and the timer are let go as well (an idle client keeps neither).
func (c *coalescedConn) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flushLocked()
	c.buf, c.timer = nil, nil
}

func (c *coalescedConn) flushLocked() error {
	if len(c.buf) == 0 || c.err != nil {
		return c.err
	}
	d := c.deadline
	if d.IsZero() {
		d = time.Now().Add(flushTimeout)
	}
	c.Conn.SetWriteDeadline(d)
	_, err := c.Conn.Write(c.buf)
	c.buf = c.buf[:0]
	if err != nil {
		c.err = err
	}
	return err
}

// Read sends what is pending first: the client waits for it. The buffer
// goes too, as the client may now be quiet for long (IDLE).
func (c *coalescedConn) Read(p []byte) (int, error) {
	if err := func() error {
		c.mu.Lock()
		defer c.mu.Unlock()
		err := c.flushLocked()
		c.buf = nil
		return err
	}(); err != nil {
		return 0, err
	}
	return c.Conn.Read(p)
}

func (c *coalescedConn) Close() error {
	c.mu.Lock()
	c.flushLocked()
	if c.timer != nil {
		c.timer.Stop()
	}
	c.mu.Unlock()
	return c.Conn.Close()
}

// tlsListener hands out TLS connections wrapped in coalescedConn.
type tlsListener struct {
	net.Listener
	config *tls.Config
}

func (l tlsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &coalescedConn{Conn: tls.Server(c, l.config)}, nil
}
