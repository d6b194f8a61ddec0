package dmarcreport

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"mailgate/internal/authres"
	"mailgate/internal/dns"
	"mailgate/internal/spool"
	"mailgate/internal/store"
)

// Store is what the report job reads and takes (store.Store).
type Store interface {
	DMARCReportDomains(ctx context.Context, before int64) ([]string, error)
	TakeDMARCCounts(ctx context.Context, domain string, before int64, send func([]store.DMARCCount, []store.DMARCPolicy) error) error
}

// Job sends the reports that are due. Every node of a fleet may run it:
// the store hands each count to one of them.
type Job struct {
	Store    Store
	Spool    *spool.Spool
	Resolver authres.Resolver
	Reporter
	Hostname string
	Interval time.Duration // the reporting period (the Recorder's)
	Log      *slog.Logger
	Now      func() time.Time // nil: time.Now
}

// Result says what one run did.
type Result struct {
	Reports int // messages queued
	// TooLarge counts the short reports queued instead of a report over
	// a destination's size limit (RFC 7489 §7.2.2).
	TooLarge int
	Domains  []string // policy domains reported on
	Skipped  []string // why a domain or destination got nothing, one line each
	// Notes are the reports' <error> notes (the policy changed during a
	// period), one line each.
	Notes []string
	// Retry says a DNS failure left some counts for a later run.
	Retry bool
}

// Run reports every period that has ended; with all, the current one
// too (up to now: `mailgate dmarc report-now`).
func (j *Job) Run(ctx context.Context, all bool) (Result, error) {
	var res Result
	now := time.Now()
	if j.Now != nil {
		now = j.Now()
	}
	before := now.Truncate(j.Interval).Unix()
	if all {
		before = now.Unix() + 1
	}
	domains, err := j.Store.DMARCReportDomains(ctx, before)
	if err != nil {
		return res, err
	}
	for _, domain := range domains {
		if err := j.report(ctx, domain, before, now, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// report sends one domain's reports, or drops its counts when it no
// longer asks for any; a DNS failure leaves them for the next run.
func (j *Job) report(ctx context.Context, domain string, before int64, now time.Time, res *Result) error {
	skip := func(why string) { res.Skipped = append(res.Skipped, domain+": "+why) }
	rec, err := authres.LookupDMARC(ctx, j.Resolver, domain)
	if authres.IsTemporary(err) {
		skip("DMARC record lookup failed, trying again next run: " + err.Error())
		res.Retry = true
		return nil
	}
	var dests []Destination
	if err == nil {
		dests = ParseRUA(rec.ReportURIAggregate)
	}
	var verified []Destination
	for _, d := range dests {
		ok, err := j.accepts(ctx, domain, d)
		if err != nil {
			skip("external destination check failed, trying again next run: " + err.Error())
			res.Retry = true
			return nil
		}
		if !ok {
			skip(fmt.Sprintf("%s does not accept reports for %s (no v=DMARC1 at %s._report._dmarc.%s, RFC 7489 §7.1)", d.Address, domain, domain, d.Domain()))
			continue
		}
		verified = append(verified, d)
	}
	return j.Store.TakeDMARCCounts(ctx, domain, before, func(counts []store.DMARCCount, policies []store.DMARCPolicy) error {
		if len(verified) == 0 {
			// Nobody to send to: the counts go (§7.2 reports only to rua=).
			skip("no verified mailto: destination in rua=; counts dropped")
			return nil
		}
		byPeriod := map[int64][]store.DMARCCount{}
		for _, c := range counts {
			byPeriod[c.PeriodBegin] = append(byPeriod[c.PeriodBegin], c)
		}
		policiesOf := map[int64][]store.DMARCPolicy{}
		for _, p := range policies {
			policiesOf[p.PeriodBegin] = append(policiesOf[p.PeriodBegin], p)
		}
		for begin, cs := range byPeriod {
			end := min(begin+int64(j.Interval/time.Second), now.Unix()+1) - 1
			f := Build(j.Reporter, reportID(j.Receiver(), domain, begin), domain, rec, policiesOf[begin], begin, end, cs)
			for _, note := range f.ReportMetadata.Errors {
				res.Notes = append(res.Notes, domain+": "+note)
			}
			if err := j.send(f, verified, now, res); err != nil {
				return err
			}
		}
		res.Domains = append(res.Domains, domain)
		return nil
	})
}

// send queues one period's report to each destination whose size limit
// it fits; the others get the short report saying it was too large
// (§7.2.1).
func (j *Job) send(f *Feedback, dests []Destination, now time.Time, res *Result) error {
	domain := f.PolicyPublished.Domain
	gz, err := f.Gzipped()
	if err != nil {
		return err
	}
	for _, d := range dests {
		msg := Compose(j.Reporter, f, gz, d.Address, j.Hostname, now)
		if d.fits(len(msg)) {
			id, err := j.queue(domain, d.Address, msg, now)
			if err != nil {
				return err
			}
			res.Reports++
			j.logQueued("dmarc report queued", domain, d.Address, f.ReportMetadata.ReportID, len(msg), "records", len(f.Records), "id", id)
			continue
		}
		// RFC 7489 §7.2.1: the URI is not used; the short report of
		// §7.2.2 says a report is available but could not be sent.
		tl := TooLarge{Domain: domain, ReportID: f.ReportMetadata.ReportID, Size: len(msg), URI: "mailto:" + d.Address, Date: now}
		notice := ComposeTooLarge(j.Reporter, tl, d.Address, j.Hostname, now)
		why := fmt.Sprintf("%s: report of %d bytes exceeds %s's limit of %d", domain, len(msg), d.Address, d.MaxBytes)
		if !d.fits(len(notice)) {
			res.Skipped = append(res.Skipped, why+"; so does the short report saying so (RFC 7489 §7.2.2), nothing sent")
			continue
		}
		id, err := j.queue(domain, d.Address, notice, now)
		if err != nil {
			return err
		}
		res.TooLarge++
		res.Skipped = append(res.Skipped, why+"; sent the short report saying so instead (RFC 7489 §7.2.2)")
		j.logQueued("dmarc report too large, short report queued", domain, d.Address, tl.ReportID, len(notice), "report_bytes", len(msg), "id", id)
	}
	return nil
}

// fits says whether a message of n bytes is within the destination's
// limit (RFC 7489 §6.4's "!size", after encoding, §7.2.1).
func (d Destination) fits(n int) bool {
	return d.MaxBytes <= 0 || int64(n) <= d.MaxBytes
}

// queue spools one report message to one destination and returns its
// queue ID.
func (j *Job) queue(domain, to string, msg []byte, now time.Time) (string, error) {
	env := &spool.Envelope{ID: spool.NewID(), From: j.Email, To: []string{to}, Received: now, Origin: "dmarc-report"}
	if err := j.Spool.Put(env, msg); err != nil {
		return "", fmt.Errorf("queueing the DMARC report for %s to %s: %w", domain, to, err)
	}
	return env.ID, nil
}

func (j *Job) logQueued(what, domain, to, reportID string, size int, kv ...any) {
	if j.Log != nil {
		j.Log.Info(what, append([]any{"domain", domain, "to", to, "report_id", reportID, "bytes", size}, kv...)...)
	}
}

// accepts applies RFC 7489 §7.1: a destination outside the policy
// domain's organizational domain must publish a v=DMARC1 TXT record at
// <policy-domain>._report._dmarc.<destination-domain>.
func (j *Job) accepts(ctx context.Context, domain string, d Destination) (bool, error) {
	if authres.OrgDomain(d.Domain()) == authres.OrgDomain(domain) {
		return true, nil
	}
	txts, err := j.Resolver.LookupTXT(ctx, domain+"._report._dmarc."+d.Domain())
	if dns.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, t := range txts {
		if strings.HasPrefix(strings.TrimSpace(t), "v=DMARC1") {
			return true, nil
		}
	}
	return false, nil
}

// reportID is unique per report: the domains, the period and a random
// part (several nodes or runs may report one period).
func reportID(receiver, domain string, begin int64) string {
	var r [6]byte
	rand.Read(r[:])
	return fmt.Sprintf("%s.%s.%d.%s", receiver, domain, begin, hex.EncodeToString(r[:]))
}
