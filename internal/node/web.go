package node

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"mailgate/internal/config"
	"mailgate/internal/netlimit"
	"mailgate/internal/spool"
	"mailgate/internal/store"
	"mailgate/internal/web"
	"mailgate/internal/webmail"
)

// httpRefusals answer a client over the connection caps (RFC 9110 §15.6.4).
var httpRefusals = netlimit.Replies{
	PerSource: "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\nRetry-After: 10\r\n\r\n",
	Total:     "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\nRetry-After: 10\r\n\r\n",
}

// mailHooks connect the webmail to the rest of the node: the spam check's
// learning (the IMAP server's OnCopy) and, in a fleet, where a mailbox
// lives.
type mailHooks struct {
	learn webmail.Learner
	home  func(ctx context.Context, account string) (string, error)
	proxy func(w http.ResponseWriter, r *http.Request, node string)
	// proxied gets the web server, to serve what other nodes proxy here.
	proxied *proxiedWeb
	// submit sends the webmail's messages through submission.
	submit web.Submitter
}

// startWeb binds [listen] http and https behind one connection limiter
// (the [limits] caps) and serves internal/web on them. The returned stop
// shuts both down; with neither address set it does nothing.
func startWeb(cfg *config.Config, st *store.Store, sp *spool.Spool, tlsConf *tls.Config, log *slog.Logger, banner io.Writer, mail mailHooks) (func(context.Context), error) {
	if cfg.Listen.HTTP == "" && cfg.Listen.HTTPS == "" {
		return func(context.Context) {}, nil
	}
	site, err := web.New(cfg, st, sp, log)
	if err != nil {
		return nil, err
	}
	site.MailLearn, site.MailHome, site.MailProxy, site.Submitter = mail.learn, mail.home, mail.proxy, mail.submit
	if mail.proxied != nil {
		mail.proxied.site <- site
	}
	// No login deadline: http.Server's own timeouts bound slow clients.
	lim := netlimit.New("web", netlimit.Limits{MaxPerSource: cfg.Limits.MaxConnectionsPerIP, MaxTotal: cfg.Limits.MaxConnections}, httpRefusals, log)
	var servers []*http.Server
	var listeners []net.Listener
	stop := func(ctx context.Context) {
		for _, l := range listeners {
			l.Close()
		}
		web.Shutdown(ctx, servers...)
	}
	for _, s := range []struct {
		name, addr string
		tls        *tls.Config
	}{{"http (self-check, autoconfig, feed)", cfg.Listen.HTTP, nil}, {"https (portal, account, feed)", cfg.Listen.HTTPS, tlsConf}} {
		if s.addr == "" {
			continue
		}
		l, err := net.Listen("tcp", s.addr)
		if err != nil {
			stop(context.Background())
			return nil, fmt.Errorf("listen %s on %s: %w (is another server on that port? change [listen] in the config)", s.name, s.addr, err)
		}
		fmt.Fprintf(banner, "mailgate: %-36s %s\n", s.name, l.Addr())
		ll := lim.Listen(l, s.tls)
		listeners = append(listeners, ll)
		srv := site.NewHTTPServer(s.tls)
		servers = append(servers, srv)
		serve := web.Serve
		if s.tls != nil {
			srv.TLSConfig = s.tls.Clone()
			serve = web.ServeTLS
		}
		go func() {
			if err := serve(srv, ll); err != nil {
				log.Error("web listener failed", "addr", s.addr, "err", err)
			}
		}()
	}
	go pruneWebSessions(st, log)
	return func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		stop(ctx)
	}, nil
}

// pruneWebSessions drops expired sessions hourly (any node may; it is
// idempotent). The probe's rate windows are pruned with every node's
// (writeStats).
func pruneWebSessions(st *store.Store, log *slog.Logger) {
	for range time.Tick(time.Hour) {
		if _, err := st.PruneWebSessions(context.Background()); err != nil {
			log.Warn("pruning web sessions failed", "err", err)
		}
	}
}
