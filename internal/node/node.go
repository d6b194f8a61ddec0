// Package node wires one mail node together from its configuration: store,
// spool, TLS, listeners and delivery agent, and runs them until told to stop.
package node

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"

	"mailgate/internal/abuse"
	"mailgate/internal/certs"
	"mailgate/internal/config"
	"mailgate/internal/delivery"
	"mailgate/internal/dmarcreport"
	"mailgate/internal/dns"
	"mailgate/internal/imapd"
	"mailgate/internal/managesieve"
	"mailgate/internal/netlimit"
	"mailgate/internal/pop3d"
	"mailgate/internal/quotawarn"
	"mailgate/internal/sessions"
	"mailgate/internal/smtpd"
	"mailgate/internal/spool"
	"mailgate/internal/store"
)

// Run serves until ctx is cancelled, then shuts down gracefully: listeners
// close first, sessions get up to grace to finish, then the delivery agent
// finishes its current steps.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger, banner io.Writer) error {
	reportOpenFileLimit(cfg, log, banner)
	st, err := store.Open(ctx, cfg.DatabaseDSN())
	if err != nil {
		return err
	}
	defer st.Close()
	warnUnjournaledExt4(cfg.DataDir, log) // after the store made data_dir
	st.SetSieveQuota(store.SieveQuota{MaxScripts: cfg.Sieve.MaxScripts, MaxScriptBytes: cfg.Sieve.MaxScriptBytes})
	st.SetDefaultMailboxQuota(int64(cfg.Mailbox.Quota))
	sp, err := spool.Open(filepath.Join(cfg.DataDir, "spool"))
	if err != nil {
		return err
	}
	defer sp.Close()
	cert, err := certs.Load(cfg.TLS.CertFile, cfg.TLS.KeyFile, cfg.DataDir, cfg.Hostname)
	if err != nil {
		return err
	}
	tlsConf := certs.ServerConfig(cert)
	tickets, err := startTicketKeys(ctx, cfg, st, log)
	if err != nil {
		return err
	}
	useTicketKeys(tickets, tlsConf)
	throttle := startLoginThrottle(cfg, st, log)
	dmarcRec, dmarcReports := dmarcRecorder(cfg)
	var dmarcJob *dmarcreport.Job
	if dmarcRec != nil {
		if dmarcJob, err = DMARCReportJob(ctx, cfg, st, sp, log); err != nil {
			return err
		}
	}
	mxChecks, submissionChecks, err := checks(cfg, st, log, dmarcReports)
	if err != nil {
		return err
	}
	if err := addScanStages(cfg, st, log, mxChecks, submissionChecks); err != nil {
		return err
	}

	smtpSrv := &smtpd.Server{
		Config: smtpd.Config{
			Hostname: cfg.Hostname, TLS: tlsConf,
			MaxMessageBytes: cfg.Limits.MaxMessageBytes, MaxRecipients: cfg.Limits.MaxRecipients,
			MaxLineLength: cfg.Limits.MaxLineLength, CommandTimeout: cfg.Limits.CommandTimeout,
			DataTimeout: cfg.Limits.DataTimeout, MaxAuthFailures: cfg.Limits.MaxAuthFailures,
			MaxErrors: cfg.Limits.MaxErrors, GreetPause: cfg.Limits.GreetPause,
			ConnectWait: cfg.Reputation.ConnectWait,
		},
		Dir: st, Spool: sp, Log: log, Resolver: dns.Shared(cfg.DNS.Servers, cfg.DNS.Timeout),
		MXChecks: mxChecks, SubmissionChecks: submissionChecks,
		SendLimits: &abuse.SendLimiter{Usage: st, Log: log, Defer: cfg.Limits.OverLimit == "defer",
			Defaults: store.SendLimits{RecipientsPerDay: cfg.Limits.RecipientsPerDay, MessagesPerDay: cfg.Limits.MessagesPerDay}},
	}

	if err := startOwnNetwork(ctx, cfg, st, log, smtpSrv); err != nil {
		return err
	}

	// Built before any listener binds: a bad delivery setting (CA file,
	// smarthost password file) fails start-up without announcing ports.
	agent, err := delivery.NewAgent(cfg, sp, st, log)
	if err != nil {
		return err
	}
	// A full mailbox on this node is refused at RCPT ([mailbox] quota).
	smtpSrv.Quota = agent.Local
	startCompromiseResponse(cfg, st, sp, log, throttle, smtpSrv, agent)
	// The MX reverses the addresses the agent's remote delivery makes.
	smtpSrv.SRS = agent.SRS
	if agent.SRS != nil {
		log.Info("SRS: forwarded mail's senders are rewritten", "domain", agent.SRS.Domain())
		smtpSrv.SRSBounces = &abuse.BounceLimiter{Counter: st, PerDomain: cfg.SRS.BounceRate, PerClient: cfg.SRS.BounceRatePerIP, Log: log}
	}
	if cfg.Delivery.LocalBeforeAck {
		// The agent's own local delivery (Sieve and all), so that both
		// paths follow one set of rules; in a fleet its Homes, set by
		// startFleet below before any listener accepts, sends mail homed
		// elsewhere to the spool.
		smtpSrv.Local = agent.Local
	}

	mailRoot := filepath.Join(cfg.DataDir, "mail")
	lineSettings := sessions.Settings{Log: log, MaxAuthFailures: cfg.Limits.MaxAuthFailures}
	pop3Srv := &pop3d.Server{Hostname: cfg.Hostname, TLS: tlsConf, Dir: st, MailRoot: mailRoot, Settings: lineSettings}
	imapSrv := &imapd.Server{TLS: tlsConf, Dir: st, MailRoot: mailRoot, Log: log,
		MaxMessageBytes: cfg.Limits.MaxMessageBytes, MaxAuthFailures: cfg.Limits.MaxAuthFailures, Quotas: st,
		Compress: cfg.IMAP.Compress, QuotaWarner: quotawarn.FromConfig(cfg, log)}
	if imapSrv.OnCopy, err = scanLearner(cfg, log); err != nil {
		return err
	}
	fl, err := startFleet(cfg, st, sp, agent, imapSrv, pop3Srv, tickets, log, banner)
	if err != nil {
		return err
	}
	defer fl.close()

	// One connection limiter per protocol, shared by its plain and
	// implicit-TLS ports; every listener goes through one.
	limiter := func(service string, replies netlimit.Replies, loginTimeout time.Duration) *netlimit.Limiter {
		c := cfg.Limits.ConnectionLimits(service)
		lim := netlimit.Limits{MaxPerSource: c.MaxConnectionsPerIP, MaxTotal: c.MaxConnections, LoginTimeout: loginTimeout}
		return netlimit.New(service, lim, replies, log)
	}
	// Nobody logs in on the MX, so its login deadline is never lifted:
	// it bounds the whole session.
	mxLim := limiter("mx", smtpd.Refusals, cfg.Limits.SessionTimeout)
	subLim := limiter("submission", smtpd.Refusals, cfg.Limits.LoginTimeout)
	pop3Lim := limiter("pop3", pop3d.Refusals, cfg.Limits.LoginTimeout)
	imapLim := limiter("imap", imapd.Refusals, cfg.Limits.LoginTimeout)
	sieveLim := limiter("managesieve", managesieve.Refusals, cfg.Limits.LoginTimeout)

	sieveSrv := &managesieve.Server{TLS: tlsConf, Store: st, Settings: lineSettings, MaxRedirects: cfg.Sieve.MaxRedirects}

	type service struct {
		name, addr string
		serve      func(net.Listener) error
		lim        *netlimit.Limiter
		tls        *tls.Config // implicit TLS: refusals are written over it
	}
	services := []service{
		{"mx (STARTTLS offered)", cfg.Listen.MX, smtpSrv.ServeMX, mxLim, nil},
		{"submission (STARTTLS + AUTH)", cfg.Listen.Submission, smtpSrv.ServeSubmission, subLim, nil},
		{"submissions (implicit TLS + AUTH)", cfg.Listen.Submissions, smtpSrv.ServeSubmissions, subLim, tlsConf},
		{"pop3 (STLS + login)", cfg.Listen.POP3, pop3Srv.ServePlain, pop3Lim, nil},
		{"pop3s (implicit TLS)", cfg.Listen.POP3S, pop3Srv.ServeTLS, pop3Lim, tlsConf},
		{"imap (STARTTLS + login)", cfg.Listen.IMAP, imapSrv.ServePlain, imapLim, nil},
		{"imaps (implicit TLS)", cfg.Listen.IMAPS, imapSrv.ServeTLS, imapLim, tlsConf},
		{"managesieve (STARTTLS + login)", cfg.Listen.ManageSieve, sieveSrv.Serve, sieveLim, nil},
	}
	type bound struct {
		l     net.Listener
		serve func(net.Listener) error
	}
	var listeners []bound
	closeAll := func() {
		for _, b := range listeners {
			b.l.Close()
		}
	}
	for _, s := range services {
		if s.addr == "" {
			continue
		}
		l, err := net.Listen("tcp", s.addr)
		if err != nil {
			closeAll()
			return fmt.Errorf("listen %s on %s: %w (is another server on that port? change [listen] in the config)", s.name, s.addr, err)
		}
		listeners = append(listeners, bound{s.lim.Listen(l, s.tls), s.serve})
		fmt.Fprintf(banner, "mailgate: %-36s %s\n", s.name, l.Addr())
	}

	stopRADIUS, err := startRADIUS(cfg, st, log, banner)
	if err != nil {
		closeAll()
		return err
	}
	stopWeb, err := startWeb(cfg, st, sp, tlsConf, log, banner, mailHooks{learn: imapSrv.OnCopy, home: fl.mailHome(), proxy: fl.mailProxy(), proxied: fl.proxied(), submit: smtpSrv})
	if err != nil {
		closeAll()
		if stopRADIUS != nil {
			stopRADIUS(context.Background())
		}
		return err
	}

	agentCtx, stopAgent := context.WithCancel(context.Background())
	var agentDone sync.WaitGroup
	agentDone.Add(1)
	go func() { defer agentDone.Done(); agent.Run(agentCtx) }()
	agentDone.Add(1)
	go func() { defer agentDone.Done(); writeStats(agentCtx, cfg, st, sp, log) }()
	if dmarcRec != nil {
		agentDone.Add(1)
		go func() { defer agentDone.Done(); runDMARCReports(agentCtx, cfg, st, dmarcJob, dmarcRec, log) }()
	}

	errc := make(chan error, len(listeners))
	for _, b := range listeners {
		go func() { errc <- b.serve(b.l) }()
	}
	select {
	case <-ctx.Done():
	case err = <-errc:
		// netlimit retries temporary accept errors (EMFILE and the
		// like): what ends a listener is a broken socket.
		log.Error("listener failed", "err", err)
	}
	log.Info("shutting down")
	grace, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	closeAll()
	smtpSrv.Shutdown(grace)
	pop3Srv.Shutdown(grace)
	imapSrv.Shutdown(grace)
	if stopRADIUS != nil {
		stopRADIUS(grace)
	}
	sieveSrv.Shutdown(grace)
	stopWeb(grace)
	stopAgent()
	agentDone.Wait()
	return err
}

// reportOpenFileLimit raises the open-file limit and says what it is, in
// the banner and the log, warning when the connection caps could use it
// all up (accepts would then back off until connections close).
func reportOpenFileLimit(cfg *config.Config, log *slog.Logger, banner io.Writer) {
	limit, err := raiseOpenFileLimit()
	if err != nil {
		log.Warn("could not raise the open-file limit", "limit", limit, "err", err)
	}
	caps := connectionCapsTotal(cfg)
	fmt.Fprintf(banner, "mailgate: open files limit %d (connection caps total %d)\n", limit, caps)
	log.Info("open files limit", "limit", limit, "connection_caps_total", caps)
	if uint64(caps) >= limit {
		log.Warn("the connection caps add up to the open-file limit or more: at the limit new connections wait until others close; raise LimitNOFILE (systemd) / ulimit -Hn, or lower limits.max_connections",
			"limit", limit, "connection_caps_total", caps)
	}
}
