// Package smtpd runs mailgate's SMTP listeners on emersion/go-smtp:
// submission (587, STARTTLS then AUTH, RFC 6409) and submissions (465,
// implicit TLS, RFC 8314). Sessions decide who may say what; accepted
// messages go to the spool and nowhere else.
package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"mailgate/internal/abuse"
	"mailgate/internal/dns"
	"mailgate/internal/netlimit"
	"mailgate/internal/spool"
	"mailgate/internal/srs"
	"mailgate/internal/store"
	"mailgate/internal/verdict"
)

// Directory is what sessions need from the store.
type Directory interface {
	Account(ctx context.Context, addr string) (*store.Account, error)
	Owns(ctx context.Context, account, addr string) (bool, error)
	HasDomain(ctx context.Context, name string) (bool, error)
	Resolve(ctx context.Context, addr string) (string, error)
}

// AccountWatch hears of an account's submissions: remote is the count of
// recipients outside our domains, accepted whether the message was
// queued, notes the verdict's notes (a virus found, a spam score).
type AccountWatch interface {
	Submitted(account string, remote int, accepted bool, notes map[string]any)
}

// Config holds the limits and identity sessions run with.
type Config struct {
	Hostname        string
	TLS             *tls.Config
	MaxMessageBytes int64
	MaxRecipients   int
	MaxLineLength   int
	CommandTimeout  time.Duration
	DataTimeout     time.Duration
	MaxAuthFailures int
	// MaxErrors closes a connection after that many refused commands.
	MaxErrors int
	// GreetPause is how long the MX waits before its greeting to catch
	// clients that talk first; 0 checks only what already arrived.
	GreetPause time.Duration
	// ConnectWait bounds the MX's connect stages (MXChecks.Connect),
	// which the greeting waits for; 0 runs none.
	ConnectWait time.Duration
}

// Server owns the SMTP listeners of one node.
type Server struct {
	Config Config
	Dir    Directory
	Spool  *spool.Spool
	Log    *slog.Logger
	// Resolver looks up client rDNS: the node's shared caching resolver
	// (dns.Shared), the one the reputation checks ask; nil means the
	// shared one for the system's name servers.
	Resolver dns.Resolver
	// MXChecks and SubmissionChecks judge clients and messages before the
	// 250 (package verdict); nil checks nothing.
	MXChecks, SubmissionChecks *verdict.Pipeline
	// SRS, if set, makes the MX take bounces to the Sender Rewriting
	// Scheme addresses of mail we forwarded (srs.go).
	SRS *srs.Rewriter
	// SRSBounces bounds those bounces per destination domain and client
	// ([srs] bounce_rate); nil: no bound.
	SRSBounces *abuse.BounceLimiter
	// SendLimits applies the daily send limits to submission; nil: none.
	SendLimits *abuse.SendLimiter
	// Watch, if set, hears of every submission that reached the end of
	// DATA (the compromised-account response).
	Watch AccountWatch
	// OwnNetwork, if set, makes the MX offer AUTH after STARTTLS to our
	// own subscribers, then apply the submission rules (issue 11 §4).
	OwnNetwork OwnNetwork
	// OwnNetworkIP also relays unauthenticated mail from our pools with a
	// sender in our domains (own_network_relay = "ip"); Subscribers names
	// who held the address, for the log.
	OwnNetworkIP bool
	Subscribers  Subscribers
	// Local, when set, makes the MX and submission deliver to mailboxes
	// on this node before their 250, the rest going to the spool
	// ([delivery] local_before_ack; mxlocal.go). nil: everything goes to
	// the spool.
	Local LocalDelivery
	// Quota, when set, refuses at RCPT a recipient whose mailbox on this
	// node is full ([mailbox] quota; delivery.Local.RcptFull).
	Quota RcptQuota

	mu      sync.Mutex
	servers []*smtp.Server
}

func (s *Server) newSMTP(service string) *smtp.Server {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		if service == "mx" {
			return s.newMXSession(c)
		}
		return s.newSubmissionSession(c, service)
	}))
	srv.Domain = s.Config.Hostname
	srv.TLSConfig = s.Config.TLS
	srv.MaxMessageBytes = s.Config.MaxMessageBytes
	// MaxRecipients is left 0: the sessions answer the 452 themselves so
	// that it counts toward MaxErrors (session.checkRecipientLimit).
	// go-smtp's own refusals count too, and its own limit is off.
	srv.Refused = func(c *smtp.Conn, reply *smtp.SMTPError) *smtp.SMTPError {
		return s.refused(c, service, reply)
	}
	srv.MaxLineLength = s.Config.MaxLineLength
	srv.ReadTimeout = s.Config.CommandTimeout
	srv.WriteTimeout = s.Config.CommandTimeout
	// RFC 4954 §4 note: no plaintext mechanisms without TLS.
	srv.AllowInsecureAuth = false
	srv.EnableSMTPUTF8 = true
	srv.ErrorLog = slogAdapter{s.Log}
	s.mu.Lock()
	s.servers = append(s.servers, srv)
	s.mu.Unlock()
	return srv
}

// Refusals are what netlimit writes to connections over the caps, before
// the greeting. RFC 5321 §3.1: a server may answer the opening with 421
// (service not available) instead of 220, and close.
var Refusals = netlimit.Replies{
	// RFC 3463: X.7.0, other security or policy status.
	PerSource: "421 4.7.0 Too many connections from your address, try again later\r\n",
	// RFC 3463: X.3.2, system not accepting network messages.
	Total: "421 4.3.2 Too many connections, try again later\r\n",
}

// ServeMX serves port 25: mail for our domains from other MTAs. STARTTLS
// is offered and never required (RFC 3207 §4: a publicly-referenced server
// MUST NOT require it); AUTH is offered only to our own subscribers
// (OwnNetwork), after STARTTLS.
func (s *Server) ServeMX(l net.Listener) error {
	ml := newMXListener(l, s.Config.GreetPause, s.judgeConnect, func(ip, why string) {
		s.Log.Warn("mx connection refused", "client", ip, "reason", why)
	})
	srv := s.newSMTP("mx")
	// A client the connect stages refuse gets 554 instead of 220, then
	// 503 until it quits (RFC 5321 §3.1).
	srv.Greeting = greetingRefusal
	srv.RefusedWait, srv.RefusedCommands = refusedWait, refusedCommands
	return ignoreClosed(srv.Serve(ml))
}

// ServeSubmission serves port 587: plaintext greeting, STARTTLS, then AUTH.
func (s *Server) ServeSubmission(l net.Listener) error {
	return ignoreClosed(s.newSMTP("submission").Serve(trackedListener{l}))
}

// ServeSubmissions serves port 465: TLS from the first byte (RFC 8314 §3.3).
func (s *Server) ServeSubmissions(l net.Listener) error {
	return ignoreClosed(s.newSMTP("submissions").Serve(tls.NewListener(trackedListener{l}, s.Config.TLS)))
}

func ignoreClosed(err error) error {
	if errors.Is(err, smtp.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting and closes sessions once they are idle or ctx
// ends. A session in DATA either finishes its Put or its message is never
// acknowledged; the spool holds no half-written message either way.
func (s *Server) Shutdown(ctx context.Context) {
	s.mu.Lock()
	servers := append([]*smtp.Server(nil), s.servers...)
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, srv := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := srv.Shutdown(ctx); err != nil {
				srv.Close()
			}
		}()
	}
	wg.Wait()
}

type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Printf(format string, v ...any) {
	a.l.Debug("smtp", "msg", fmt.Sprintf(format, v...))
}
func (a slogAdapter) Println(v ...any) { a.l.Debug("smtp", "msg", fmt.Sprint(v...)) }
