package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"mailgate/internal/certs"
	"mailgate/internal/config"
	"mailgate/internal/delivery"
	"mailgate/internal/fleet"
	"mailgate/internal/imapd"
	"mailgate/internal/pop3d"
	"mailgate/internal/spool"
	"mailgate/internal/store"
	"mailgate/internal/web"
)

// fleetNode is this node's part in a fleet: its registration and
// heartbeat, the internal listener, and the router delivery uses.
type fleetNode struct {
	router *fleet.Router
	homes  *fleet.Homes
	access *fleet.Access
	web    *proxiedWeb // nil without an https listener
	l      net.Listener
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

// startFleet registers the node, starts its heartbeat and its internal
// listener (LMTP hand-offs, proxied IMAP and POP3 sessions), routes local
// recipients homed elsewhere through agent and proxies the IMAP and POP3
// sessions of mailboxes homed elsewhere.
// Without [fleet] listen it does nothing and returns nil.
func startFleet(cfg *config.Config, st *store.Store, sp *spool.Spool, agent *delivery.Agent, imapSrv *imapd.Server, pop3Srv *pop3d.Server, tickets *certs.TicketKeys, log *slog.Logger, banner io.Writer) (*fleetNode, error) {
	if !cfg.Fleet.Enabled() {
		return nil, nil
	}
	fleetCerts, err := fleet.LoadCerts(cfg.Fleet.CAFile, cfg.Fleet.CertFile, cfg.Fleet.KeyFile)
	if err != nil {
		return nil, err
	}
	self := cfg.FleetNode()
	ctx, stop := context.WithCancel(context.Background())
	if err := st.RegisterNode(ctx, self, cfg.FleetAddress()); err != nil {
		stop()
		return nil, fmt.Errorf("fleet: register node: %w", err)
	}
	homes := &fleet.Homes{Store: st, Self: self}
	f := &fleetNode{stop: stop, homes: homes, router: &fleet.Router{Homes: homes, Certs: fleetCerts, Timeout: cfg.Delivery.ConnectTimeout, Log: log}}
	lmtp := (&fleet.LMTPBackend{Homes: homes, Spool: sp, MaxMessageBytes: cfg.Limits.MaxMessageBytes, Log: log}).NewServer()
	f.l, err = net.Listen("tcp", cfg.Fleet.Listen)
	if err != nil {
		stop()
		return nil, fmt.Errorf("listen fleet (internal LMTP and proxy) on %s: %w (change fleet.listen)", cfg.Fleet.Listen, err)
	}
	fmt.Fprintf(banner, "mailgate: %-36s %s (node %s)\n", "fleet (internal, mutual TLS)", f.l.Addr(), self)
	// The store's ticket keys, as on the public listeners: a node's
	// connections to a peer that restarted resume (RFC 8446 §2.2). A
	// ticket from a public listener carries no client certificate and
	// Go resumes a session under RequireAndVerifyClientCert only with
	// one that still chains to the fleet CA, so it gets no further.
	internalTLS := fleetCerts.ServerConfig()
	useTicketKeys(tickets, internalTLS)
	internal := &fleet.Listener{TLS: internalTLS, Log: log, LMTP: lmtp,
		IMAP: serveFunc(imapSrv.ServeProxied), POP3: serveFunc(pop3Srv.ServeProxied)}
	internal.Move = (&fleet.Mover{Homes: homes, Certs: fleetCerts, MailRoot: filepath.Join(cfg.DataDir, "mail"), Log: log}).Serve
	access := &fleet.Access{Homes: homes, Certs: fleetCerts, Log: log}
	imapSrv.Proxy, pop3Srv.Proxy = access.ProxyIMAP, access.ProxyPOP3
	f.access = access
	if cfg.Listen.HTTPS != "" {
		f.web = &proxiedWeb{site: make(chan *web.Server, 1)}
		internal.Web = f.web
	}
	f.wg.Add(2)
	go func() {
		defer f.wg.Done()
		if err := internal.Serve(f.l); err != nil {
			log.Error("fleet listener failed", "err", err)
		}
		lmtp.Close()
	}()
	go func() { defer f.wg.Done(); f.heartbeat(ctx, st, self, cfg.Fleet.Heartbeat, log) }()
	agent.Local.Homes = f.router
	return f, nil
}

func (f *fleetNode) heartbeat(ctx context.Context, st *store.Store, self string, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := st.Heartbeat(ctx, self); err != nil && ctx.Err() == nil {
			log.Warn("fleet heartbeat", "node", self, "err", err)
		}
	}
}

// mailHome tells the webmail where a mailbox lives: nil without a fleet
// (always here), else the home node when it is another one.
func (f *fleetNode) mailHome() func(ctx context.Context, account string) (string, error) {
	if f == nil {
		return nil
	}
	return f.homes.Away
}

// mailProxy serves webmail requests of mailboxes homed elsewhere on their
// home node; nil without a fleet.
func (f *fleetNode) mailProxy() func(w http.ResponseWriter, r *http.Request, node string) {
	if f == nil {
		return nil
	}
	return f.access.ProxyHTTP
}

// proxied is where startWeb hands over the web server for the requests
// other nodes proxy here; nil without a fleet or an https listener.
func (f *fleetNode) proxied() *proxiedWeb {
	if f == nil {
		return nil
	}
	return f.web
}

// proxiedWeb serves the webmail requests other nodes proxy here, once the
// web server exists (the fleet listener starts before it).
type proxiedWeb struct{ site chan *web.Server }

func (p *proxiedWeb) Serve(l net.Listener) error {
	site := <-p.site
	if site == nil {
		return nil
	}
	return site.ServeProxied(l)
}

// serveFunc makes a server's Serve method a value for fleet.Listener.
type serveFunc func(net.Listener) error

func (f serveFunc) Serve(l net.Listener) error { return f(l) }

// close stops the listener and the heartbeat; hand-offs in flight finish
// with the delivery agent.
func (f *fleetNode) close() {
	if f == nil {
		return
	}
	f.l.Close()
	f.stop()
	f.wg.Wait()
	f.router.Close()
}
