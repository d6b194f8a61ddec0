package dmarcreport

import (
	"context"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"mailgate/internal/authres"
	"mailgate/internal/store"
)

// Counter is where counts are flushed (store.Store).
type Counter interface {
	AddDMARCCounts(ctx context.Context, counts []store.DMARCCount, policies []store.DMARCPolicy) error
}

// Recorder counts the MX's DMARC verdicts in memory, one counter per
// report row, and writes them to the store in one transaction per Flush.
// In memory rather than one upsert per message: the MX's path then costs
// a map increment, not a database write (on SQLite a synchronous commit)
// for each message; a crash loses the counts since the last flush, never
// a message. It implements authres.Recorder.
type Recorder struct {
	// Interval is the reporting period: counts are kept per period
	// starting at a multiple of it since the Unix epoch (24h: UTC days).
	Interval time.Duration
	Now      func() time.Time // nil: time.Now

	mu     sync.Mutex
	counts map[store.DMARCCount]int64
	// policies holds each policy counted under (LastSeen left zero) and
	// when it was last seen, Unix nanoseconds.
	policies map[store.DMARCPolicy]int64
}

// RecordDMARC counts one message once per From domain whose DMARC record
// asks for aggregate reports (rua=), with the policy that record
// published: the report's policy_published is the one in force when the
// mail came, not when the report goes out.
func (r *Recorder) RecordDMARC(ip netip.Addr, spf authres.SPF, dkims []authres.DKIM, dmarcs []authres.DMARC, applied []authres.Applied) {
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	var keys []store.DMARCCount
	var policies []store.DMARCPolicy
	for i, d := range dmarcs {
		if d.Record == nil || len(d.Record.ReportURIAggregate) == 0 {
			continue
		}
		c := r.row(now, ip, spf, dkims, d, applied[i])
		keys = append(keys, c)
		policies = append(policies, policySeen(c.PeriodBegin, d))
	}
	if len(keys) == 0 {
		return
	}
	r.mu.Lock()
	r.add(keys, policies, now.UnixNano())
	r.mu.Unlock()
}

// add counts one message for each key and marks each policy seen at
// seen; r.mu is held.
func (r *Recorder) add(keys []store.DMARCCount, policies []store.DMARCPolicy, seen int64) {
	if r.counts == nil {
		r.counts = map[store.DMARCCount]int64{}
		r.policies = map[store.DMARCPolicy]int64{}
	}
	for _, k := range keys {
		r.counts[k]++
	}
	for _, p := range policies {
		r.policies[p] = max(r.policies[p], seen)
	}
}

// policySeen is the policy a message was judged under, as the report's
// policy_published gives it.
func policySeen(period int64, d authres.DMARC) store.DMARCPolicy {
	pp := published(d.PolicyDomain, d.Record)
	return store.DMARCPolicy{PolicyDomain: d.PolicyDomain, PeriodBegin: period, P: pp.P, SP: pp.SP, ADKIM: pp.ADKIM, ASPF: pp.ASPF, Pct: pp.Pct}
}

// row is the report row of one message for one From domain (RFC 7489
// Appendix C: RecordType without its count).
func (r *Recorder) row(now time.Time, ip netip.Addr, spf authres.SPF, dkims []authres.DKIM, d authres.DMARC, a authres.Applied) store.DMARCCount {
	interval := r.Interval
	if interval <= 0 {
		interval = 24 * time.Hour
	}
	c := store.DMARCCount{
		PolicyDomain: d.PolicyDomain,
		PeriodBegin:  now.Truncate(interval).Unix(),
		SourceIP:     ip.Unmap().String(),
		HeaderFrom:   d.From,
		Disposition:  a.Disposition,
		Override:     overrideText(a),
		DKIMEval:     passFail(d.DKIMAligned),
		SPFEval:      passFail(d.SPFAligned),
		SPFDomain:    strings.ToLower(spf.Domain),
		SPFScope:     "mfrom",
		SPFResult:    spf.Result,
	}
	if spf.Identity == "helo" {
		c.SPFScope = "helo"
	} else {
		c.EnvelopeFrom = c.SPFDomain
	}
	lines := make([]string, 0, len(dkims))
	for _, k := range dkims {
		lines = append(lines, strings.Join([]string{strings.ToLower(k.Domain), orDash(k.Selector), k.Result}, " "))
	}
	sort.Strings(lines)
	c.DKIMResults = strings.Join(lines, "\n")
	return c
}

// overrideText is the PolicyOverrideType and its comment in one column:
// a type is a token (RFC 7489 Appendix C), so the first space parts them
// (record splits them again). Rows of different sealers stay apart.
func overrideText(a authres.Applied) string {
	if a.Comment == "" {
		return a.Override
	}
	return a.Override + " " + a.Comment
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "fail"
}

// orDash keeps a missing selector one field wide.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Flush writes the counts so far, with the policies seen, in one
// transaction. When the store fails they are kept for the next Flush.
func (r *Recorder) Flush(ctx context.Context, st Counter) error {
	r.mu.Lock()
	counts, policies := r.counts, r.policies
	r.counts, r.policies = nil, nil
	r.mu.Unlock()
	if len(counts) == 0 {
		return nil
	}
	rows := make([]store.DMARCCount, 0, len(counts))
	for k, n := range counts {
		k.Messages = n
		rows = append(rows, k)
	}
	seen := make([]store.DMARCPolicy, 0, len(policies))
	for p, t := range policies {
		p.LastSeen = t
		seen = append(seen, p)
	}
	err := st.AddDMARCCounts(ctx, rows, seen)
	if err != nil {
		r.mu.Lock()
		if r.counts == nil {
			r.counts = map[store.DMARCCount]int64{}
			r.policies = map[store.DMARCPolicy]int64{}
		}
		for k, n := range counts {
			r.counts[k] += n
		}
		for p, t := range policies {
			r.policies[p] = max(r.policies[p], t)
		}
		r.mu.Unlock()
	}
	return err
}
