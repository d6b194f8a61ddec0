package dmarcreport

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-msgauth/dmarc"

	"mailgate/internal/store"
)

// The aggregate report's XML, RFC 7489 Appendix C (element names and
// order as in its schema).
type Feedback struct {
	XMLName         xml.Name        `xml:"feedback"`
	Version         string          `xml:"version"`
	ReportMetadata  ReportMetadata  `xml:"report_metadata"`
	PolicyPublished PolicyPublished `xml:"policy_published"`
	Records         []Record        `xml:"record"`
}

type ReportMetadata struct {
	OrgName          string    `xml:"org_name"`
	Email            string    `xml:"email"`
	ExtraContactInfo string    `xml:"extra_contact_info,omitempty"`
	ReportID         string    `xml:"report_id"`
	DateRange        DateRange `xml:"date_range"`
	// Errors are the schema's notes on the report (error*), here that
	// the published policy changed during the period.
	Errors []string `xml:"error,omitempty"`
}

type DateRange struct {
	Begin int64 `xml:"begin"`
	End   int64 `xml:"end"`
}

type PolicyPublished struct {
	Domain string `xml:"domain"`
	ADKIM  string `xml:"adkim,omitempty"`
	ASPF   string `xml:"aspf,omitempty"`
	P      string `xml:"p"`
	SP     string `xml:"sp"`
	Pct    int    `xml:"pct"`
}

type Record struct {
	Row         Row         `xml:"row"`
	Identifiers Identifiers `xml:"identifiers"`
	AuthResults AuthResults `xml:"auth_results"`
}

type Row struct {
	SourceIP        string          `xml:"source_ip"`
	Count           int64           `xml:"count"`
	PolicyEvaluated PolicyEvaluated `xml:"policy_evaluated"`
}

type PolicyEvaluated struct {
	Disposition string         `xml:"disposition"`
	DKIM        string         `xml:"dkim"`
	SPF         string         `xml:"spf"`
	Reasons     []PolicyReason `xml:"reason,omitempty"`
}

type PolicyReason struct {
	Type    string `xml:"type"`
	Comment string `xml:"comment,omitempty"`
}

type Identifiers struct {
	EnvelopeFrom string `xml:"envelope_from"`
	HeaderFrom   string `xml:"header_from"`
}

type AuthResults struct {
	DKIM []DKIMResult `xml:"dkim,omitempty"`
	SPF  []SPFResult  `xml:"spf"`
}

type DKIMResult struct {
	Domain   string `xml:"domain"`
	Selector string `xml:"selector,omitempty"`
	Result   string `xml:"result"`
}

type SPFResult struct {
	Domain string `xml:"domain"`
	Scope  string `xml:"scope,omitempty"`
	Result string `xml:"result"`
}

// Reporter names us in reports: report_metadata's org_name and email
// (RFC 7489 §7.2.1.1: the email is also the report's From).
type Reporter struct {
	OrgName, Email string
}

// Receiver is the domain of the reporter's address: the "receiver" of the
// report's file name and the Submitter of its subject (§7.2.1.1).
func (r Reporter) Receiver() string {
	_, d, _ := strings.Cut(r.Email, "@")
	return strings.ToLower(d)
}

// Build makes one report: the counts of one policy domain and period,
// rows with the same key added up, under the policy the MX last saw
// during the period (policies, from the Recorder), noted in an <error>
// when it saw more than one; without any (counts written before policies
// were recorded), under rec, the record published now.
func Build(rep Reporter, reportID, domain string, rec *dmarc.Record, policies []store.DMARCPolicy, begin, end int64, counts []store.DMARCCount) *Feedback {
	f := &Feedback{
		Version: "1.0",
		ReportMetadata: ReportMetadata{OrgName: rep.OrgName, Email: rep.Email, ReportID: reportID,
			DateRange: DateRange{Begin: begin, End: end}},
		PolicyPublished: published(domain, rec),
	}
	if len(policies) > 0 {
		var note string
		f.PolicyPublished, note = lastPolicy(domain, policies)
		if note != "" {
			f.ReportMetadata.Errors = append(f.ReportMetadata.Errors, note)
		}
	}
	sum := map[store.DMARCCount]int64{}
	for _, c := range counts {
		n := c.Messages
		c.Messages, c.PeriodBegin = 0, 0
		sum[c] += n
	}
	keys := make([]store.DMARCCount, 0, len(sum))
	for k := range sum {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return recordOrder(keys[i]) < recordOrder(keys[j]) })
	for _, k := range keys {
		f.Records = append(f.Records, record(k, sum[k]))
	}
	return f
}

func recordOrder(c store.DMARCCount) string {
	return strings.Join([]string{c.SourceIP, c.HeaderFrom, c.EnvelopeFrom, c.Disposition, c.Override, c.DKIMEval, c.SPFEval,
		c.DKIMResults, c.SPFDomain, c.SPFScope, c.SPFResult}, "\x00")
}

// published is policy_published: the record's values with the defaults
// of RFC 7489 §6.3 filled in (sp= defaults to p=, pct= to 100).
func published(domain string, rec *dmarc.Record) PolicyPublished {
	p := PolicyPublished{Domain: domain, ADKIM: "r", ASPF: "r", Pct: 100}
	if rec == nil {
		return p
	}
	p.P, p.SP = string(rec.Policy), string(rec.SubdomainPolicy)
	if p.SP == "" {
		p.SP = p.P
	}
	if rec.DKIMAlignment != "" {
		p.ADKIM = string(rec.DKIMAlignment)
	}
	if rec.SPFAlignment != "" {
		p.ASPF = string(rec.SPFAlignment)
	}
	if rec.Percent != nil {
		p.Pct = *rec.Percent
	}
	return p
}

// lastPolicy is the policy seen last of a period's, and, when there
// were several, a note naming them in the order they were last seen.
func lastPolicy(domain string, policies []store.DMARCPolicy) (PolicyPublished, string) {
	ps := slices.Clone(policies)
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].LastSeen != ps[j].LastSeen {
			return ps[i].LastSeen < ps[j].LastSeen
		}
		return policyText(ps[i]) < policyText(ps[j]) // a tie: any order, the same every time
	})
	last := ps[len(ps)-1]
	pp := PolicyPublished{Domain: domain, P: last.P, SP: last.SP, ADKIM: last.ADKIM, ASPF: last.ASPF, Pct: last.Pct}
	if len(ps) == 1 {
		return pp, ""
	}
	seen := make([]string, len(ps))
	for i, p := range ps {
		seen[i] = policyText(p) + " (last seen " + time.Unix(0, p.LastSeen).UTC().Format(time.RFC3339) + ")"
	}
	return pp, fmt.Sprintf("the published policy changed during the period: %d policies seen, %s; policy_published is the last one seen",
		len(ps), strings.Join(seen, ", then "))
}

// policyText is a policy as its record's tags spell it.
func policyText(p store.DMARCPolicy) string {
	return fmt.Sprintf("p=%s sp=%s adkim=%s aspf=%s pct=%d", p.P, p.SP, p.ADKIM, p.ASPF, p.Pct)
}

func record(c store.DMARCCount, n int64) Record {
	r := Record{
		Row: Row{SourceIP: c.SourceIP, Count: n,
			PolicyEvaluated: PolicyEvaluated{Disposition: c.Disposition, DKIM: c.DKIMEval, SPF: c.SPFEval}},
		Identifiers: Identifiers{EnvelopeFrom: c.EnvelopeFrom, HeaderFrom: c.HeaderFrom},
		AuthResults: AuthResults{SPF: []SPFResult{{Domain: c.SPFDomain, Scope: c.SPFScope, Result: c.SPFResult}}},
	}
	if c.Override != "" {
		typ, comment, _ := strings.Cut(c.Override, " ")
		r.Row.PolicyEvaluated.Reasons = []PolicyReason{{Type: typ, Comment: comment}}
	}
	if c.DKIMResults != "" {
		for _, line := range strings.Split(c.DKIMResults, "\n") {
			f := strings.Fields(line)
			if len(f) != 3 {
				continue
			}
			if f[1] == "-" {
				f[1] = ""
			}
			r.AuthResults.DKIM = append(r.AuthResults.DKIM, DKIMResult{Domain: f[0], Selector: f[1], Result: f[2]})
		}
	}
	return r
}

// Gzipped is the report as its attachment holds it: XML, gzip-compressed
// (RFC 7489 §7.2.1.1).
func (f *Feedback) Gzipped() ([]byte, error) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(xml.Header))
	enc := xml.NewEncoder(zw)
	enc.Indent("", " ")
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("dmarc report XML: %w", err)
	}
	zw.Write([]byte("\n"))
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Filename is RFC 7489 §7.2.1.1's: receiver "!" policy-domain "!"
// begin-timestamp "!" end-timestamp "." extension.
func (f *Feedback) Filename(receiver string) string {
	d := f.ReportMetadata.DateRange
	return receiver + "!" + f.PolicyPublished.Domain + "!" + strconv.FormatInt(d.Begin, 10) + "!" + strconv.FormatInt(d.End, 10) + ".xml.gz"
}
