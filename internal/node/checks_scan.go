package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"mailgate/internal/config"
	"mailgate/internal/scan"
	"mailgate/internal/store"
	"mailgate/internal/verdict"
)

// addScanStages appends the virus and spam checks ([scan]) to the
// pipelines, after the stages checks() built, so the spam stage sees the
// authentication results. Nothing configured: nothing added.
func addScanStages(cfg *config.Config, st *store.Store, log *slog.Logger, mx, submission *verdict.Pipeline) error {
	sc := cfg.Scan
	timeout, limit := sc.Timeout, cfg.ScanMaxBytes()
	if sc.Clamd != "" {
		ep, err := scan.ParseEndpoint(sc.Clamd)
		if err != nil {
			return err
		}
		clamd := &scan.Clamd{Endpoint: ep, Timeout: timeout}
		healthCheck(clamd, log)
		virus := func(onVirus func(scan.VirusFound)) *scan.VirusStage {
			return &scan.VirusStage{Engine: clamd, MaxBytes: limit, Oversize: sc.Virus.Oversize,
				OnError: sc.Virus.OnError, OnVirus: onVirus, MTAName: cfg.Hostname, Log: log}
		}
		mx.Message = append(mx.Message, virus(nil))
		// A subscriber sending a virus is a sign of a compromised account
		// (the abuse control reads the verdict note; this is its log line).
		submission.Message = append(submission.Message, virus(func(f scan.VirusFound) {
			log.Warn("virus submitted", "account", f.Account, "virus", f.Name, "scanner", f.Engine)
		}))
	}
	if sc.Rspamd != "" {
		ep, err := scan.ParseEndpoint(sc.Rspamd)
		if err != nil {
			return err
		}
		rspamd := scan.NewRspamd(ep, timeout)
		healthCheck(rspamd, log)
		defaults := scan.Prefs{Enabled: true, Action: sc.Spam.Action, Threshold: sc.Spam.Threshold, Tag: sc.Spam.Tag}
		mx.Message = append(mx.Message, &scan.SpamStage{Engine: rspamd, Defaults: defaults, Prefs: spamPrefs(st, defaults),
			RejectAction: sc.Spam.Reject, Greylist: sc.Spam.Greylist, OnError: sc.Spam.OnError,
			MaxBytes: limit, MTAName: cfg.Hostname, Log: log})
		submission.Message = append(submission.Message, &scan.SpamStage{Engine: rspamd, ScoreOnly: true,
			MaxBytes: limit, MTAName: cfg.Hostname, Log: log})
	}
	return nil
}

// spamPrefs reads a recipient's choice from its account, the operator's
// defaults filling what the account left unset.
func spamPrefs(st *store.Store, defaults scan.Prefs) scan.PrefsFunc {
	return func(ctx context.Context, rcpt string) (scan.Prefs, error) {
		acct, err := st.Resolve(ctx, rcpt)
		if errors.Is(err, store.ErrNotFound) {
			return defaults, nil // removed since RCPT: delivery will say so
		}
		if err != nil {
			return defaults, err
		}
		set, err := st.AccountSpam(ctx, acct)
		if err != nil {
			return defaults, err
		}
		p := defaults
		p.Enabled = set.Enabled
		if set.Action != "" {
			p.Action = set.Action
		}
		if set.Threshold > 0 {
			p.Threshold = set.Threshold
		}
		if set.Tag != "" {
			p.Tag = set.Tag
		}
		return p, nil
	}
}

// scanLearner is the IMAP hook that teaches rspamd from moves into and out
// of Junk, or nil when no controller is configured.
func scanLearner(cfg *config.Config, log *slog.Logger) (func(account, from, to string, files func() []*os.File), error) {
	sc := cfg.Scan
	if sc.RspamdController == "" {
		return nil, nil
	}
	ep, err := scan.ParseEndpoint(sc.RspamdController)
	if err != nil {
		return nil, err
	}
	l := &scan.Learner{Controller: ep, Timeout: sc.Timeout, Log: log}
	if sc.RspamdPasswordFile != "" {
		b, err := os.ReadFile(sc.RspamdPasswordFile)
		if err != nil {
			return nil, fmt.Errorf("scan.rspamd_password_file: %w", err)
		}
		l.Password = strings.TrimSpace(string(b))
	}
	return l.Copied, nil
}

// healthCheck pings a scanner at start-up, in the background: one that is
// down does not stop the node (the on_error policy applies to each
// message), but the operator learns of it at once.
func healthCheck(sc scan.Scanner, log *slog.Logger) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := sc.Ping(ctx); err != nil {
			log.Warn("scanner unavailable at start", "scanner", sc.Name(), "err", err)
			return
		}
		log.Info("scanner ready", "scanner", sc.Name())
	}()
}
