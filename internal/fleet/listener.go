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
	// IMAP and POP3 serve proxied sessions (nil: refused). Their
	// connections are TLS already and carry the client's address as
	// their RemoteAddr.
	IMAP, POP3 interface{ Serve(net.Listener) error }
	// Web serves webmail requests proxied from other nodes (nil:
	// refused), on connections like IMAP's.
	Web interface{ Serve(net.Listener) error }
	// Move answers mailbox moves (Mover.Serve); nil: refused.
	Move func(net.Conn)

	queues map[string]*connQueue
}

// Serve accepts until l is closed.
func (s *Listener) Serve(l net.Listener) error {
	s.queues = map[string]*connQueue{}
	for proto, srv := range map[string]interface{ Serve(net.Listener) error }{ProtoLMTP: s.LMTP, ProtoIMAP: s.IMAP, ProtoPOP3: s.POP3, ProtoWeb: s.Web} {
		if srv == nil {
			continue
		}
		q := newConnQueue(l.Addr())
		s.queues[proto] = q
		go srv.Serve(q)
		defer q.Close()
	}
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
	p := tc.ConnectionState().NegotiatedProtocol
	if p == ProtoMove && s.Move != nil {
		s.Move(tc)
		return
	}
	q := s.queues[p]
	if q == nil {
		s.Log.Warn("fleet: internal connection for a service not served here", "remote", c.RemoteAddr().String(), "alpn", p)
		tc.Close()
		return
	}
	var conn net.Conn = tc
	if p != ProtoLMTP {
		client, err := readPreface(tc)
		if err != nil {
			s.Log.Warn("fleet: proxied session without a valid CLIENT line", "remote", c.RemoteAddr().String(), "err", err)
			tc.Close()
			return
		}
		conn = &proxiedConn{Conn: tc, client: net.TCPAddrFromAddrPort(client)}
	}
	if !q.put(conn) {
		conn.Close()
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
	// Taking the lock orders this Accept before a later Close: go-imap's
	// Serve counts itself in a WaitGroup before accepting and its Close
	// waits on that group after closing the listener, and without an
	// order between the two the race detector objects.
	q.mu.Lock()
	closed := q.closed
	q.mu.Unlock()
	if closed {
		return nil, net.ErrClosed
	}
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
