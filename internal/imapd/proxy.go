package imapd

import (
	"net"

	"github.com/emersion/go-imap/v2"

	"mailgate/internal/netlimit"
)

// ProxyFunc, in a fleet, serves the rest of a session whose login just
// succeeded here on the account's home node when that is another node
// (internal/fleet Access.ProxyIMAP): it answers the login command (tag)
// itself and returns when the session ends. handled false: the mailbox
// is here. An error: nothing was sent, the login gets a temporary NO.
type ProxyFunc func(account, pw, tag string, client net.Conn) (handled bool, err error)

// errProxyEnded ends a proxied session's connection: the client already
// had its answer from the home node, and the connection is closed, so
// this NO goes nowhere.
var errProxyEnded = &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Proxied session ended"}

// proxy hands the session to the home node when it is elsewhere;
// done says the session was served there (or failed), err what Login
// answers.
func (s *session) proxy(account, pw string) (done bool, err error) {
	if s.srv.Proxy == nil {
		return false, nil
	}
	nc := s.conn.NetConn()
	// The login succeeded: the proxied session is not bound by the
	// login deadline (the home node's own timeouts apply).
	netlimit.LoggedIn(nc)
	handled, err := s.srv.Proxy(account, pw, s.conn.Tag(), nc)
	if !handled {
		return false, nil
	}
	if err != nil {
		return true, errAuthTemp
	}
	nc.Close()
	return true, errProxyEnded
}

// ServeProxied serves sessions proxied from other nodes of a fleet: the
// connections are mutually authenticated TLS already (internal/fleet),
// with the client's address as RemoteAddr.
func (s *Server) ServeProxied(l net.Listener) error {
	s.init()
	return ignoreClosed(s.tlsSrv.Serve(l))
}
