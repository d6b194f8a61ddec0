package store

import (
	"context"
	"database/sql"
	"fmt"
)

// DMARC aggregate report counts (RFC 7489 §7.2): one row per policy
// domain, reporting period and the things a report's <record> groups by
// (source IP, policy_evaluated, identifiers, auth_results), with the
// number of messages. The MX adds counts in batches; the report job takes
// a domain's rows out with DELETE ... RETURNING inside the transaction
// that queues its report, so in a fleet each row is reported by exactly
// one node, and a node dying before the report is queued leaves the rows
// for the next run.
func init() {
	register(migration{Version: 401, Name: "dmarc report counts", SQL: `
CREATE TABLE dmarc_report_counts (
	policy_domain TEXT NOT NULL,
	period_begin BIGINT NOT NULL,
	source_ip TEXT NOT NULL,
	header_from TEXT NOT NULL,
	envelope_from TEXT NOT NULL,
	disposition TEXT NOT NULL,
	override TEXT NOT NULL,
	dkim_eval TEXT NOT NULL,
	spf_eval TEXT NOT NULL,
	dkim_results TEXT NOT NULL,
	spf_domain TEXT NOT NULL,
	spf_scope TEXT NOT NULL,
	spf_result TEXT NOT NULL,
	messages BIGINT NOT NULL,
	PRIMARY KEY (policy_domain, period_begin, source_ip, header_from, envelope_from, disposition, override,
		dkim_eval, spf_eval, dkim_results, spf_domain, spf_scope, spf_result)
);
CREATE INDEX dmarc_report_counts_period ON dmarc_report_counts (period_begin);
`})
}

// The policy each count was judged under, as the MX saw it (RFC 7489
// §7.2: policy_published is "the DMARC policy published for the domain
// covered by the report" during the period, not the record found when the
// report goes out). One row per policy domain, period and distinct
// published policy, with the last time (Unix nanoseconds) a node saw it:
// a report shows the last one seen. Written with the counts, taken with
// them.
func init() {
	register(migration{Version: 402, Name: "dmarc report policies", SQL: `
CREATE TABLE dmarc_report_policies (
	policy_domain TEXT NOT NULL,
	period_begin BIGINT NOT NULL,
	p TEXT NOT NULL,
	sp TEXT NOT NULL,
	adkim TEXT NOT NULL,
	aspf TEXT NOT NULL,
	pct INTEGER NOT NULL,
	last_seen BIGINT NOT NULL,
	PRIMARY KEY (policy_domain, period_begin, p, sp, adkim, aspf, pct)
);
`})
}

// DMARCPolicy is a policy the MX judged a domain's mail under in one
// period: the record's p=, sp=, adkim=, aspf= and pct= with RFC 7489
// §6.3's defaults filled in, and when it was last seen (Unix nanoseconds).
type DMARCPolicy struct {
	PolicyDomain       string
	PeriodBegin        int64 // Unix seconds
	P, SP, ADKIM, ASPF string
	Pct                int
	LastSeen           int64
}

// DMARCCount is one row of counts. DKIMResults holds the message's DKIM
// results as "domain selector result" lines, sorted (the report's
// auth_results/dkim elements).
type DMARCCount struct {
	PolicyDomain                                string
	PeriodBegin                                 int64 // Unix seconds
	SourceIP, HeaderFrom, EnvelopeFrom          string
	Disposition, Override, DKIMEval, SPFEval    string
	DKIMResults, SPFDomain, SPFScope, SPFResult string
	Messages                                    int64
}

const dmarcCountCols = `policy_domain, period_begin, source_ip, header_from, envelope_from, disposition, override,
	dkim_eval, spf_eval, dkim_results, spf_domain, spf_scope, spf_result, messages`

// AddDMARCCounts adds counts, and the policies they were judged under,
// in one transaction: a row with the same key gets its messages added; a
// policy already seen keeps the later of the two times.
func (s *Store) AddDMARCCounts(ctx context.Context, counts []DMARCCount, policies []DMARCPolicy) error {
	if len(counts) == 0 && len(policies) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, s.q(`INSERT INTO dmarc_report_counts (`+dmarcCountCols+`)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (policy_domain, period_begin, source_ip, header_from, envelope_from, disposition, override,
	dkim_eval, spf_eval, dkim_results, spf_domain, spf_scope, spf_result)
DO UPDATE SET messages = dmarc_report_counts.messages + excluded.messages`))
		if err != nil {
			return err
		}
		defer st.Close()
		for _, c := range counts {
			if _, err := st.ExecContext(ctx, c.PolicyDomain, c.PeriodBegin, c.SourceIP, c.HeaderFrom, c.EnvelopeFrom,
				c.Disposition, c.Override, c.DKIMEval, c.SPFEval, c.DKIMResults, c.SPFDomain, c.SPFScope, c.SPFResult, c.Messages); err != nil {
				return fmt.Errorf("dmarc counts: %w", err)
			}
		}
		if len(policies) == 0 {
			return nil
		}
		ps, err := tx.PrepareContext(ctx, s.q(`INSERT INTO dmarc_report_policies (`+dmarcPolicyCols+`)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (policy_domain, period_begin, p, sp, adkim, aspf, pct)
DO UPDATE SET last_seen = CASE WHEN excluded.last_seen > dmarc_report_policies.last_seen
	THEN excluded.last_seen ELSE dmarc_report_policies.last_seen END`))
		if err != nil {
			return err
		}
		defer ps.Close()
		for _, p := range policies {
			if _, err := ps.ExecContext(ctx, p.PolicyDomain, p.PeriodBegin, p.P, p.SP, p.ADKIM, p.ASPF, p.Pct, p.LastSeen); err != nil {
				return fmt.Errorf("dmarc policies: %w", err)
			}
		}
		return nil
	})
}

const dmarcPolicyCols = `policy_domain, period_begin, p, sp, adkim, aspf, pct, last_seen`

// DMARCReportDomains lists the policy domains with counts in periods that
// began before before (Unix seconds).
func (s *Store) DMARCReportDomains(ctx context.Context, before int64) ([]string, error) {
	return queryList(ctx, s, func(r *sql.Rows) (string, error) {
		var d string
		return d, r.Scan(&d)
	}, `SELECT DISTINCT policy_domain FROM dmarc_report_counts WHERE period_begin < ? ORDER BY policy_domain`, before)
}

// TakeDMARCCounts deletes a domain's counts of periods that began before
// before, and the policies seen with them, and hands them to send, in one
// transaction: the deletion commits only if send succeeds. Two nodes
// taking the same domain at once get each row once: the second's DELETE
// waits for the first's commit (PostgreSQL row locks, SQLite's single
// writer) and finds nothing. No counts to take calls no send. Counts
// written before the policies were recorded (migration 402) come with
// none for their period.
func (s *Store) TakeDMARCCounts(ctx context.Context, domain string, before int64, send func([]DMARCCount, []DMARCPolicy) error) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		counts, err := takeRows(ctx, tx, s.q(`DELETE FROM dmarc_report_counts WHERE policy_domain = ? AND period_begin < ?
RETURNING `+dmarcCountCols), domain, before, func(r *sql.Rows) (c DMARCCount, err error) {
			return c, r.Scan(&c.PolicyDomain, &c.PeriodBegin, &c.SourceIP, &c.HeaderFrom, &c.EnvelopeFrom, &c.Disposition, &c.Override,
				&c.DKIMEval, &c.SPFEval, &c.DKIMResults, &c.SPFDomain, &c.SPFScope, &c.SPFResult, &c.Messages)
		})
		if err != nil {
			return fmt.Errorf("dmarc counts of %s: %w", domain, err)
		}
		policies, err := takeRows(ctx, tx, s.q(`DELETE FROM dmarc_report_policies WHERE policy_domain = ? AND period_begin < ?
RETURNING `+dmarcPolicyCols), domain, before, func(r *sql.Rows) (p DMARCPolicy, err error) {
			return p, r.Scan(&p.PolicyDomain, &p.PeriodBegin, &p.P, &p.SP, &p.ADKIM, &p.ASPF, &p.Pct, &p.LastSeen)
		})
		if err != nil {
			return fmt.Errorf("dmarc policies of %s: %w", domain, err)
		}
		if len(counts) == 0 {
			return nil
		}
		return send(counts, policies)
	})
}

// takeRows runs a DELETE ... RETURNING of one domain's rows before a
// period and reads what it returned.
func takeRows[T any](ctx context.Context, tx *sql.Tx, query, domain string, before int64, scan func(*sql.Rows) (T, error)) ([]T, error) {
	rows, err := tx.QueryContext(ctx, query, domain, before)
	return scanAll(rows, err, scan)
}
