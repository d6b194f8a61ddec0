// Package pop3d serves POP3 (RFC 1939) with CAPA (RFC 2449), STLS
// (RFC 2595) and SASL PLAIN (RFC 5034) on 110 and implicit TLS on 995
// (RFC 8314), reading the same Maildir local delivery writes.
package pop3d

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"mailgate/internal/login"
	"mailgate/internal/netlimit"
)

// Server serves POP3 for one node.
type Server struct {
	Hostname string
	TLS      *tls.Config
	Dir      login.Accounts
	MailRoot string // <data_dir>/mail
	Log      *slog.Logger
	// Timeout is the inactivity autologout timer; RFC 1939 §3 wants at
	// least 10 minutes, which is the default.
	Timeout time.Duration
	// MaxAuthFailures closes the connection after that many failed
	// logins (default 3).
	MaxAuthFailures int
	// Proxy, in a fleet, serves sessions of maildrops homed elsewhere.
	Proxy ProxyFunc

	mu        sync.Mutex
	listeners map[net.Listener]bool
	conns     map[*session]bool
	closing   bool
	wg        sync.WaitGroup
	locks     mailboxLocks
}

// Refusals are what netlimit writes to connections over the caps, in place
// of the greeting (RFC 3206 §4: SYS/TEMP, a temporary problem worth
// retrying later).
var Refusals = netlimit.Replies{
	PerSource: "-ERR [SYS/TEMP] Too many connections from your address, try again later\r\n",
	Total:     "-ERR [SYS/TEMP] Too many connections, try again later\r\n",
}

// loginTimedOut is the last word to a client the login deadline cut
// off. RFC 1939 §3 lets autologout close without a word; saying why
// helps whoever reads the client's log (Dovecot says it too).
const loginTimedOut = "-ERR Disconnected: no login in time"

// ServePlain serves port 110: plaintext greeting, STLS before login.
func (s *Server) ServePlain(l net.Listener) error { return s.serve(l, false) }

// ServeTLS serves port 995: TLS from the first byte (RFC 8314 §3.3).
func (s *Server) ServeTLS(l net.Listener) error { return s.serve(l, true) }

func (s *Server) serve(l net.Listener, implicitTLS bool) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	if s.listeners == nil {
		s.listeners = map[net.Listener]bool{}
		s.conns = map[*session]bool{}
	}
	s.listeners[l] = true
	s.mu.Unlock()
	for {
		c, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			delete(s.listeners, l)
			s.mu.Unlock()
			// Temporary accept errors never get here: the node's
			// listeners retry them (internal/netlimit).
			if closing || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if implicitTLS && !isTLS(c) {
			c = tls.Server(c, s.TLS)
		}
		sess := newSession(s, c, implicitTLS)
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			c.Close()
			continue
		}
		s.conns[sess] = true
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			sess.run()
			s.mu.Lock()
			delete(s.conns, sess)
			s.mu.Unlock()
		}()
	}
}

// Shutdown stops accepting, lets sessions finish until ctx ends, then
// closes them. A session cut off before QUIT deletes nothing (RFC 1939 §6:
// deletions happen only in the UPDATE state).
func (s *Server) Shutdown(ctx context.Context) {
	s.mu.Lock()
	s.closing = true
	for l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.shutdown()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		s.Close()
		<-done
	}
}

// Close closes listeners and connections at once.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	for l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.conn.Close()
	}
	return nil
}

func (s *Server) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return 10 * time.Minute
}

func (s *Server) maxFailures() int {
	if s.MaxAuthFailures > 0 {
		return s.MaxAuthFailures
	}
	return 3
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// mailboxLocks is the POP3 maildrop lock (RFC 1939 §8: the server should
// lock the maildrop for the session), held per account while a session is
// in the TRANSACTION state.
type mailboxLocks struct {
	mu   sync.Mutex
	held map[string]bool
}

func (m *mailboxLocks) lock(account string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.held == nil {
		m.held = map[string]bool{}
	}
	if m.held[account] {
		return false
	}
	m.held[account] = true
	return true
}

func (m *mailboxLocks) unlock(account string) {
	m.mu.Lock()
	delete(m.held, account)
	m.mu.Unlock()
}
