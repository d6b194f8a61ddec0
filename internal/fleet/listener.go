package fleet

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Listener serves the internal port: TLS with a fleet client certificate,
// then the service ALPN named (LMTP hand-off, IMAP or POP3 proxy).
type Listener struct {
	TLS *tls.Config
	Log *slog.Logger
	// LMTP serves hand-offs; it is given connections through a listener.
	LMTP interface{ Serve(net.Listener) error }
	// Access, when set, serves a proxied IMAP or POP3 session (proto is
	// ProtoIMAP or ProtoPOP3).
	Access func(proto string, c net.Conn)

	lmtpConns *connQueue
}

// Serve accepts until l is closed.
func (s *Listener) Serve(l net.Listener) error {
	s.lmtpConns = newConnQueue(l.Addr())
	go s.LMTP.Serve(s.lmtpConns)
	defer s.lmtpConns.Close()
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		go s.handle(c)
	}
}

func (s *Listener) handle(c net.Conn) {
	tc := tls.Server(c, s.TLS)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		s.Log.Warn("fleet: internal connection refused", "remote", c.RemoteAddr().String(), "err", err)
		c.Close()
		return
	}
	switch p := tc.ConnectionState().NegotiatedProtocol; p {
	case ProtoLMTP:
		if !s.lmtpConns.put(tc) {
			tc.Close()
		}
	case ProtoIMAP, ProtoPOP3:
		if s.Access == nil {
			tc.Close()
			return
		}
		s.Access(p, tc)
	default:
		s.Log.Warn("fleet: internal connection without a known service", "remote", c.RemoteAddr().String(), "alpn", p)
		tc.Close()
	}
}

// connQueue is a net.Listener fed with connections accepted elsewhere.
type connQueue struct {
	addr   net.Addr
	ch     chan net.Conn
	mu     sync.Mutex
	closed bool
	done   chan struct{}
}

func newConnQueue(addr net.Addr) *connQueue {
	return &connQueue{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

func (q *connQueue) put(c net.Conn) bool {
	select {
	case q.ch <- c:
		return true
	case <-q.done:
		return false
	}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.ch:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.done)
	}
	return nil
}

func (q *connQueue) Addr() net.Addr { return q.addr }

func ctxTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}
