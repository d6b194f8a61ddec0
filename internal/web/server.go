// Package web is the node's HTTP(S) server: the subscribers' pages (OP25B
// self-check with a live probe, setup guides, My account), the machine
// endpoints (Thunderbird autoconfig, Outlook Autodiscover, the MTA-STS
// policy, the carriers' dynamic-prefix feed, Prometheus metrics).
//
// Pages are server-rendered html/template and work without JavaScript.
// Handlers only parse and print: validation, audit and effect are the
// domain packages' (store, edge, login, password).
package web

import (
	"context"
	"crypto/tls"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"time"

	"mailgate/internal/config"
	"mailgate/internal/dkim"
	"mailgate/internal/spool"
	"mailgate/internal/store"
	"mailgate/internal/webmail"
)

//go:embed templates/*.html static/* openapi.json
var files embed.FS

// Server serves the web pages of one node. Build it with New.
type Server struct {
	cfg   *config.Config
	st    *store.Store
	spool *spool.Spool // nil: no queue metrics
	log   *slog.Logger

	pages        map[string]*template.Template
	policy       *policyCache
	probe        *prober
	metricsAllow []netip.Prefix
	metrics      *metrics
	mux          *http.ServeMux
	keys         dkim.Keys // the DKIM keys in the store (api_dkim.go)
	mailSlots    accountSlots

	// MailLearn hears of webmail moves into and out of Junk, as the IMAP
	// server's OnCopy does (the spam check's learning); nil: none.
	MailLearn webmail.Learner
	// MailHome, in a fleet, returns the home node of an account's
	// mailbox when it is another node ("" when it is here).
	MailHome func(ctx context.Context, account string) (string, error)
	// MailProxy, in a fleet, serves a webmail request on node, the
	// mailbox's home (fleet.Access.ProxyHTTP); nil: such requests get
	// an error page.
	MailProxy func(w http.ResponseWriter, r *http.Request, node string)
	// Submitter sends the webmail's messages (smtpd.Server.Submit); nil:
	// the compose page cannot send.
	Submitter Submitter
}

// New builds the server from the config; sp may be nil.
func New(cfg *config.Config, st *store.Store, sp *spool.Spool, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{cfg: cfg, st: st, spool: sp, log: log, policy: &policyCache{st: st, log: log}}
	var err error
	if s.pages, err = parsePages(); err != nil {
		return nil, err
	}
	if s.probe, err = newProber(cfg, log); err != nil {
		return nil, err
	}
	for _, p := range cfg.Web.MetricsAllow {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, err
		}
		s.metricsAllow = append(s.metricsAllow, pfx.Masked())
	}
	s.metrics = newMetrics(s)
	s.keys = dkim.Keys{Dir: filepath.Join(cfg.DataDir, "dkim"), Store: st, Actor: dkim.NodeActor(cfg.FleetNode())}.Cached()
	s.mux = s.routes()
	return s, nil
}

// Handler is the whole site, security headers included.
func (s *Server) Handler() http.Handler { return s.secure(s.mux) }

// writeTimeout is how long a response may take to be written: work for
// a request that runs longer is lost (mailList stops its search then).
const writeTimeout = 60 * time.Second

// maxStreams is how many requests one HTTP/2 connection may have open at
// once (RFC 9113 §6.5.2 SETTINGS_MAX_CONCURRENT_STREAMS). The connection
// limiter counts connections, so Go's default of 250 would let one client
// run 250 times [limits] max_connections_per_ip handlers at once; our
// pages need a handful (the page, its stylesheet, script and frame).
const maxStreams = 16

// NewHTTPServer returns an http.Server for the handler with timeouts that
// keep slow or idle clients from holding connections.
func (s *Server) NewHTTPServer(tlsConf *tls.Config) *http.Server {
	return &http.Server{
		Handler:           s.Handler(),
		TLSConfig:         tlsConf,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: maxStreams},
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	static := http.FileServerFS(files)
	m.Handle("GET /static/", static)
	m.HandleFunc("GET /{$}", s.home)
	m.HandleFunc("GET /check", s.selfCheck)
	m.HandleFunc("POST /check/probe", s.csrf(s.probeServer))
	m.HandleFunc("GET /guides/{client}", s.guide)
	m.HandleFunc("GET /login", s.tlsOnly(s.loginPage))
	m.HandleFunc("POST /login", s.tlsOnly(s.csrf(s.loginSubmit)))
	m.HandleFunc("POST /logout", s.tlsOnly(s.csrf(s.logout)))
	m.HandleFunc("GET /account", s.tlsOnly(s.loggedIn(s.account)))
	m.HandleFunc("POST /account/password", s.tlsOnly(s.csrf(s.loggedIn(s.changePassword))))
	m.HandleFunc("POST /account/spam", s.tlsOnly(s.csrf(s.loggedIn(s.changeSpam))))
	m.HandleFunc("POST /account/filters", s.tlsOnly(s.csrf(s.loggedIn(s.addFilter))))
	m.HandleFunc("POST /account/filters/remove", s.tlsOnly(s.csrf(s.loggedIn(s.removeFilter))))
	m.HandleFunc("GET /account/mobileconfig", s.tlsOnly(s.loggedIn(s.mobileconfig)))
	m.HandleFunc("GET /.well-known/autoconfig/mail/config-v1.1.xml", s.autoconfig)
	m.HandleFunc("GET /mail/config-v1.1.xml", s.autoconfig) // autoconfig.<domain>
	m.HandleFunc("POST /autodiscover/autodiscover.xml", s.autodiscover)
	m.HandleFunc("POST /Autodiscover/Autodiscover.xml", s.autodiscover)
	m.HandleFunc("GET /.well-known/mta-sts.txt", s.mtaSTS)
	m.HandleFunc("GET /feed/{file}", s.feed)
	m.HandleFunc("GET /metrics", s.serveMetrics)
	s.apiRoutes(m)
	s.consoleRoutes(m)
	s.mailRoutes(m)
	s.mailComposeRoutes(m)
	return m
}

// secure sets the headers every response carries. The pages load nothing
// but our stylesheet and run no script, so the CSP allows just that.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if r.TLS != nil {
			// RFC 6797 §7.2: only over a secure transport.
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// tlsOnly keeps password pages on HTTPS: no password crosses the network
// in clear, on any service. A GET on plain HTTP is sent to the same path
// on the https listener; anything else is refused.
func (s *Server) tlsOnly(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			next(w, r)
			return
		}
		if u := s.httpsURL(r); u != "" && r.Method == http.MethodGet {
			http.Redirect(w, r, u, http.StatusSeeOther)
			return
		}
		s.fail(w, r, http.StatusForbidden, "err.https_only")
	}
}

// httpsURL is r's URL on our https listener, or "" without one.
func (s *Server) httpsURL(r *http.Request) string {
	if s.cfg.Listen.HTTPS == "" {
		return ""
	}
	_, port, err := net.SplitHostPort(s.cfg.Listen.HTTPS)
	if err != nil {
		return ""
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		host = h
	}
	if host == "" {
		host = s.cfg.Hostname
	}
	if port != "443" {
		host = net.JoinHostPort(host, port)
	} else if ip, err := netip.ParseAddr(host); err == nil && ip.Is6() {
		host = "[" + host + "]"
	}
	return "https://" + host + r.URL.RequestURI()
}

// clientAddr is the visitor's address: the TCP peer (no proxy headers are
// trusted: a forged X-Forwarded-For must not change a self-check).
func clientAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// clientNetAddr is clientAddr as login.CheckFrom wants it.
func clientNetAddr(r *http.Request) net.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return nil
	}
	return net.TCPAddrFromAddrPort(ap)
}

// Serve runs plain HTTP on l until it is closed.
func Serve(srv *http.Server, l net.Listener) error {
	err := srv.Serve(l)
	// The node closes its listeners before Shutdown (stop): that is a
	// clean end too, not "web listener failed" at every SIGTERM.
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// ServeTLS runs HTTPS (HTTP/2 and HTTP/1.1) on l until it is closed.
func ServeTLS(srv *http.Server, l net.Listener) error {
	err := srv.ServeTLS(l, "", "")
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Shutdown is http.Server.Shutdown for both servers.
func Shutdown(ctx context.Context, srvs ...*http.Server) {
	for _, srv := range srvs {
		if srv != nil {
			srv.Shutdown(ctx)
		}
	}
}
