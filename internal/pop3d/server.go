// Package pop3d serves POP3 (RFC 1939) with CAPA (RFC 2449), STLS
// (RFC 2595) and SASL PLAIN (RFC 5034) on 110 and implicit TLS on 995
// (RFC 8314), reading the same Maildir local delivery writes.
package pop3d

import (
	"context"
	"crypto/tls"
	"net"
	"sync"

	"mailgate/internal/login"
	"mailgate/internal/netlimit"
	"mailgate/internal/sessions"
)

// Server serves POP3 for one node.
type Server struct {
	Hostname string
	TLS      *tls.Config
	Dir      login.Accounts
	MailRoot string // <data_dir>/mail
	sessions.Settings
	// Proxy, in a fleet, serves sessions of maildrops homed elsewhere.
	Proxy ProxyFunc

	group sessions.Group
	locks mailboxLocks
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
	return s.group.Serve(l, func(c net.Conn) sessions.Session {
		if implicitTLS && !isTLS(c) {
			c = tls.Server(c, s.TLS)
		}
		return newSession(s, c, implicitTLS)
	})
}

// Shutdown stops accepting, lets sessions finish until ctx ends, then
// closes them. A session cut off before QUIT deletes nothing (RFC 1939 §6:
// deletions happen only in the UPDATE state).
func (s *Server) Shutdown(ctx context.Context) { s.group.Shutdown(ctx) }

// Close closes listeners and connections at once.
func (s *Server) Close() error { return s.group.Close() }

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
