// Package managesieve serves ManageSieve (RFC 5804) on 4190: mail clients
// (Thunderbird's Sieve add-on, Roundcube, sieve-connect) list, upload,
// check and activate the account's Sieve scripts, which live in the store.
// STARTTLS, then AUTHENTICATE PLAIN only under TLS (as every service here).
package managesieve

import (
	"context"
	"crypto/tls"
	"net"

	"mailgate/internal/login"
	"mailgate/internal/netlimit"
	"mailgate/internal/sessions"
	"mailgate/internal/store"
)

// Scripts is what ManageSieve needs of the store: logins and scripts.
type Scripts interface {
	login.Accounts
	PutSieveScript(ctx context.Context, actor, account, name, content string) error
	SieveScript(ctx context.Context, account, name string) (*store.SieveScript, error)
	SieveScripts(ctx context.Context, account string) ([]store.SieveScript, error)
	ActivateSieveScript(ctx context.Context, actor, account, name string) error
	DeleteSieveScript(ctx context.Context, actor, account, name string) error
	RenameSieveScript(ctx context.Context, actor, account, from, to string) error
	// SieveQuota is what PutSieveScript enforces, for HAVESPACE.
	SieveQuota() store.SieveQuota
}

// Server serves ManageSieve for one node.
type Server struct {
	TLS   *tls.Config
	Store Scripts
	sessions.Settings
	// MaxRedirects is announced as MAXREDIRECTS (RFC 5804 §1.7): what
	// delivery allows a script (config sieve.max_redirects); 0 is
	// sieve.DefaultLimits'.
	MaxRedirects int

	group sessions.Group
}

// Serve serves port 4190: plaintext greeting, STARTTLS before login.
func (s *Server) Serve(l net.Listener) error {
	return s.group.Serve(l, func(c net.Conn) sessions.Session { return newSession(s, c) })
}

// Shutdown stops accepting, lets sessions finish their command until ctx
// ends (then closes them). Nothing half-written survives: a script is
// stored in one transaction.
func (s *Server) Shutdown(ctx context.Context) { s.group.Shutdown(ctx) }

// Close closes listeners and connections at once.
func (s *Server) Close() error { return s.group.Close() }

// Refusals are what netlimit writes to connections over the caps: BYE in
// place of the greeting (RFC 5804 §1.3: the server may end a connection
// with BYE at any time), TRYLATER as for any temporary condition.
var Refusals = netlimit.Replies{
	PerSource: "BYE (TRYLATER) \"Too many connections from your address, try again later\"\r\n",
	Total:     "BYE (TRYLATER) \"Too many connections, try again later\"\r\n",
}
