// Package node wires one mail node together from its configuration: store,
// spool, TLS, listeners and delivery agent, and runs them until told to stop.
package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"

	"mailgate/internal/certs"
	"mailgate/internal/config"
	"mailgate/internal/delivery"
	"mailgate/internal/imapd"
	"mailgate/internal/managesieve"
	"mailgate/internal/pop3d"
	"mailgate/internal/smtpd"
	"mailgate/internal/spool"
	"mailgate/internal/store"
)

// Run serves until ctx is cancelled, then shuts down gracefully: listeners
// close first, sessions get up to grace to finish, then the delivery agent
// finishes its current steps.
func Run(ctx context.Context, cfg *config.Config, log *slog.Logger, banner io.Writer) error {
	st, err := store.Open(ctx, cfg.DatabaseDSN())
	if err != nil {
		return err
	}
	defer st.Close()
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
	mxChecks, submissionChecks, err := checks(cfg, log)
	if err != nil {
		return err
	}

	smtpSrv := &smtpd.Server{
		Config: smtpd.Config{
			Hostname: cfg.Hostname, TLS: tlsConf,
			MaxMessageBytes: cfg.Limits.MaxMessageBytes, MaxRecipients: cfg.Limits.MaxRecipients,
			MaxLineLength: cfg.Limits.MaxLineLength, CommandTimeout: cfg.Limits.CommandTimeout,
			DataTimeout: cfg.Limits.DataTimeout, MaxAuthFailures: cfg.Limits.MaxAuthFailures,
			MaxErrors: cfg.Limits.MaxErrors, MaxConnsPerIP: cfg.Limits.MaxConnectionsPerIP,
			GreetPause: cfg.Limits.GreetPause,
		},
		Dir: st, Spool: sp, Log: log,
		MXChecks: mxChecks, SubmissionChecks: submissionChecks,
	}

	// Built before any listener binds: a bad delivery setting (CA file,
	// smarthost password file) fails start-up without announcing ports.
	agent, err := delivery.NewAgent(cfg, sp, st, log)
	if err != nil {
		return err
	}

	mailRoot := filepath.Join(cfg.DataDir, "mail")
	pop3Srv := &pop3d.Server{Hostname: cfg.Hostname, TLS: tlsConf, Dir: st, MailRoot: mailRoot, Log: log,
		MaxAuthFailures: cfg.Limits.MaxAuthFailures}
	imapSrv := &imapd.Server{TLS: tlsConf, Dir: st, MailRoot: mailRoot, Log: log,
		MaxMessageBytes: cfg.Limits.MaxMessageBytes, MaxAuthFailures: cfg.Limits.MaxAuthFailures}

	sieveSrv := &managesieve.Server{TLS: tlsConf, Store: st, Log: log, MaxAuthFailures: cfg.Limits.MaxAuthFailures}

	type service struct {
		name, addr string
		serve      func(net.Listener) error
	}
	services := []service{
		{"mx (STARTTLS offered)", cfg.Listen.MX, smtpSrv.ServeMX},
		{"submission (STARTTLS + AUTH)", cfg.Listen.Submission, smtpSrv.ServeSubmission},
		{"submissions (implicit TLS + AUTH)", cfg.Listen.Submissions, smtpSrv.ServeSubmissions},
		{"pop3 (STLS + login)", cfg.Listen.POP3, pop3Srv.ServePlain},
		{"pop3s (implicit TLS)", cfg.Listen.POP3S, pop3Srv.ServeTLS},
		{"imap (STARTTLS + login)", cfg.Listen.IMAP, imapSrv.ServePlain},
		{"imaps (implicit TLS)", cfg.Listen.IMAPS, imapSrv.ServeTLS},
		{"managesieve (STARTTLS + login)", cfg.Listen.ManageSieve, sieveSrv.Serve},
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
		listeners = append(listeners, bound{l, s.serve})
		fmt.Fprintf(banner, "mailgate: %-36s %s\n", s.name, l.Addr())
	}

	agentCtx, stopAgent := context.WithCancel(context.Background())
	var agentDone sync.WaitGroup
	agentDone.Add(1)
	go func() { defer agentDone.Done(); agent.Run(agentCtx) }()

	errc := make(chan error, len(listeners))
	for _, b := range listeners {
		go func() { errc <- b.serve(b.l) }()
	}
	select {
	case <-ctx.Done():
	case err = <-errc:
		log.Error("listener failed", "err", err)
	}
	log.Info("shutting down")
	grace, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	closeAll()
	smtpSrv.Shutdown(grace)
	pop3Srv.Shutdown(grace)
	imapSrv.Shutdown(grace)
	sieveSrv.Shutdown(grace)
	stopAgent()
	agentDone.Wait()
	return err
}
