package pop3d

import (
	"crypto/tls"
	"net"

	"mailgate/internal/netlimit"
)

// ProxyFunc, in a fleet, serves the rest of a session whose login just
// succeeded here on the account's home node when that is another node
// (internal/fleet Access.ProxyPOP3): it answers the login itself and
// returns when the session ends. buffered is what the client sent after
// its login command. handled false: the maildrop is here. An error:
// nothing was sent, the login gets a temporary -ERR.
type ProxyFunc func(account, pw string, client net.Conn, buffered []byte) (handled bool, err error)

// proxy hands the session to the home node when it is elsewhere, and
// says whether it did (or answered the failure).
func (s *session) proxy(account, pw string) bool {
	if s.srv.Proxy == nil {
		return false
	}
	buffered, _ := s.r.Peek(s.r.Buffered())
	netlimit.LoggedIn(s.conn)
	handled, err := s.srv.Proxy(account, pw, s.conn, append([]byte(nil), buffered...))
	if !handled {
		return false
	}
	if err != nil {
		s.reply("-ERR [SYS/TEMP] mailbox temporarily unavailable, try again later")
		return true
	}
	s.state = stateDone
	return true
}

// ServeProxied serves sessions proxied from other nodes of a fleet: the
// connections are mutually authenticated TLS already (internal/fleet),
// with the client's address as RemoteAddr.
func (s *Server) ServeProxied(l net.Listener) error { return s.serve(l, true) }

// isTLS reports a connection that is TLS already (a proxied one).
func isTLS(c net.Conn) bool {
	_, ok := c.(interface{ ConnectionState() tls.ConnectionState })
	return ok
}
