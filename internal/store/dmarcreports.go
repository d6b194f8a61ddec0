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

// AddDMARCCounts adds counts in one transaction: a row with the same key
// gets its messages added.
func (s *Store) AddDMARCCounts(ctx context.Context, counts []DMARCCount) error {
	if len(counts) == 0 {
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
		return nil
	})
}

// DMARCReportDomains lists the policy domains with counts in periods that
// began before before (Unix seconds).
func (s *Store) DMARCReportDomains(ctx context.Context, before int64) ([]string, error) {
	return queryList(ctx, s, func(r *sql.Rows) (string, error) {
		var d string
		return d, r.Scan(&d)
	}, `SELECT DISTINCT policy_domain FROM dmarc_report_counts WHERE period_begin < ? ORDER BY policy_domain`, before)
}

// TakeDMARCCounts deletes a domain's counts of periods that began before
// before and hands them to send, in one transaction: the deletion commits
// only if send succeeds. Two nodes taking the same domain at once get
// each row once: the second's DELETE waits for the first's commit
// (PostgreSQL row locks, SQLite's single writer) and finds nothing.
// Nothing to take calls no send.
func (s *Store) TakeDMARCCounts(ctx context.Context, domain string, before int64, send func([]DMARCCount) error) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.q(`DELETE FROM dmarc_report_counts WHERE policy_domain = ? AND period_begin < ?
RETURNING `+dmarcCountCols), domain, before)
		if err != nil {
			return fmt.Errorf("dmarc counts of %s: %w", domain, err)
		}
		var out []DMARCCount
		for rows.Next() {
			var c DMARCCount
			if err := rows.Scan(&c.PolicyDomain, &c.PeriodBegin, &c.SourceIP, &c.HeaderFrom, &c.EnvelopeFrom, &c.Disposition, &c.Override,
				&c.DKIMEval, &c.SPFEval, &c.DKIMResults, &c.SPFDomain, &c.SPFScope, &c.SPFResult, &c.Messages); err != nil {
				rows.Close()
				return err
			}
			out = append(out, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		return send(out)
	})
}
