package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"mailgate/internal/authres"
	"mailgate/internal/config"
	"mailgate/internal/dmarcreport"
	"mailgate/internal/dns"
	"mailgate/internal/spool"
	"mailgate/internal/store"
)

// dmarcRecorder is the MX's counter for DMARC aggregate reports, or nil
// when [dmarc_reports] is off (or the MX does not check DMARC). A nil
// *Recorder must not reach the stage as a non-nil interface.
func dmarcRecorder(cfg *config.Config) (*dmarcreport.Recorder, authres.Recorder) {
	if !cfg.DMARCReports.Enabled || !cfg.Auth.Enabled {
		return nil, nil
	}
	r := &dmarcreport.Recorder{Interval: cfg.DMARCReports.Interval}
	return r, r
}

// DMARCReportJob is the report job of this configuration; it refuses a
// configuration with reports off (`dmarc report-now` would otherwise
// complain of an empty From) and a From address outside our domains
// (receivers check the report's DMARC, and replies must reach us).
func DMARCReportJob(ctx context.Context, cfg *config.Config, st *store.Store, sp *spool.Spool, log *slog.Logger) (*dmarcreport.Job, error) {
	r := cfg.DMARCReports
	if !r.Enabled {
		return nil, errReportsOff
	}
	_, domain, _ := strings.Cut(r.From, "@")
	ok, err := st.HasDomain(ctx, domain)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("dmarc_reports.from %q is not in one of our domains: add %s (mailgate domain add) or change the address", r.From, domain)
	}
	return &dmarcreport.Job{Store: st, Spool: sp, Resolver: dns.Shared(cfg.DNS.Servers, cfg.DNS.Timeout),
		Reporter: dmarcreport.Reporter{OrgName: r.OrgName, Email: r.From}, Hostname: cfg.Hostname,
		Interval: r.Interval, Log: log}, nil
}

var errReportsOff = errors.New("DMARC aggregate reports are off: set [dmarc_reports] enabled = true, org_name and from (an address in one of our domains) in the config given with -c; see mailgate config example")

// runDMARCReports writes the recorder's counts every flush_interval (and
// a last time at shutdown) and, once a period has ended, sends its
// reports. Every node of a fleet runs it; the store gives each count to
// one of them. Reports wait two flushes after their period ends so the
// other nodes' last counts are in.
func runDMARCReports(ctx context.Context, cfg *config.Config, st *store.Store, job *dmarcreport.Job, rec *dmarcreport.Recorder, log *slog.Logger) {
	r := cfg.DMARCReports
	t := time.NewTicker(r.FlushInterval)
	defer t.Stop()
	sentFor := time.Time{}
	for {
		select {
		case <-ctx.Done():
			flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := rec.Flush(flush, st); err != nil {
				log.Warn("dmarc report counts lost at shutdown", "err", err)
			}
			cancel()
			return
		case <-t.C:
		}
		if err := rec.Flush(ctx, st); err != nil && ctx.Err() == nil {
			log.Warn("writing dmarc report counts failed; kept for the next try", "err", err)
		}
		due := time.Now().Add(-2 * r.FlushInterval).Truncate(r.Interval)
		if !due.After(sentFor) {
			continue
		}
		job.Now = func() time.Time { return time.Now().Add(-2 * r.FlushInterval) }
		res, err := job.Run(ctx, false)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("dmarc reports failed; trying again next flush", "err", err)
			}
			continue
		}
		if !res.Retry {
			sentFor = due
		}
		for _, s := range res.Skipped {
			log.Info("dmarc report skipped", "why", s)
		}
	}
}
