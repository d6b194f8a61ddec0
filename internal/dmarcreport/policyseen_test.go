package dmarcreport

import (
	"context"
	"net/mail"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dmarc"

	"mailgate/internal/authres"
)

// TestReportShowsPolicySeenInPeriod: policy_published is the policy the
// MX judged the period's mail under, not the record found when the report
// goes out (p=quarantine by then). steady.example kept p=none all day:
// its report says p=none and notes nothing. moved.example went from p=none
// to p=reject adkim=s pct=50 during the day: its report shows the last
// one and notes in <error> (and the run's Notes) that two were seen.
func TestReportShowsPolicySeenInPeriod(t *testing.T) {
	ctx := context.Background()
	st, sp := openStoreAndSpool(t)
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clock := day
	r := &Recorder{Interval: 24 * time.Hour, Now: func() time.Time { return clock }}
	pct := 50
	rua := []string{"mailto:rua@reports.example"}
	record := func(domain string, rec *dmarc.Record, at time.Time) {
		clock = at
		d := authres.DMARC{Result: "pass", From: domain, PolicyDomain: domain, Record: rec, SPFAligned: true, Disposition: "none"}
		r.RecordDMARC(netip.MustParseAddr("192.0.2.1"), authres.SPF{Result: "pass", Identity: "mailfrom", Domain: domain}, nil,
			[]authres.DMARC{d}, []authres.Applied{{Disposition: "none"}})
	}
	none := &dmarc.Record{Policy: "none", ReportURIAggregate: rua}
	record("steady.example", none, day.Add(1*time.Hour))
	record("moved.example", none, day.Add(2*time.Hour))
	record("moved.example", &dmarc.Record{Policy: "reject", DKIMAlignment: dmarc.AlignmentStrict, Percent: &pct, ReportURIAggregate: rua}, day.Add(9*time.Hour))
	if err := r.Flush(ctx, st); err != nil {
		t.Fatal(err)
	}
	record("steady.example", none, day.Add(20*time.Hour)) // a second flush, as a second node's
	if err := r.Flush(ctx, st); err != nil {
		t.Fatal(err)
	}

	now := "v=DMARC1; p=quarantine; sp=none; rua=mailto:rua@reports.example"
	j := &Job{Store: st, Spool: sp, Reporter: Reporter{OrgName: "ISP", Email: "dmarc@isp.example"}, Hostname: "mx.isp.example",
		Interval: 24 * time.Hour, Now: func() time.Time { return day.Add(25 * time.Hour) },
		Resolver: txtOnly{"_dmarc.steady.example": {now}, "_dmarc.moved.example": {now},
			"steady.example._report._dmarc.reports.example": {"v=DMARC1"}, "moved.example._report._dmarc.reports.example": {"v=DMARC1"}}}
	res, err := j.Run(ctx, false)
	if err != nil || res.Reports != 2 {
		t.Fatalf("run: %+v %v", res, err)
	}
	reports := map[string]appendixC{}
	entries, _ := sp.Entries()
	for _, e := range entries {
		m, err := sp.Open(e.Envelope.ID)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(m.Body())
		if err != nil {
			t.Fatal(err)
		}
		_, _, got := attachedReport(t, msg)
		m.Close()
		reports[got.Policy.Domain] = got
	}
	steady, moved := reports["steady.example"], reports["moved.example"]
	if p := steady.Policy; p.P != "none" || p.SP != "none" || p.ADKIM != "r" || p.Pct != 100 || len(steady.Metadata.Errors) != 0 {
		t.Errorf("steady.example: policy_published %+v, errors %q; want p=none sp=none as seen, no note", p, steady.Metadata.Errors)
	}
	if len(steady.Records) != 1 || steady.Records[0].Row.Count != 2 {
		t.Errorf("steady.example: records %+v, want one of 2 messages", steady.Records)
	}
	if p := moved.Policy; p.P != "reject" || p.SP != "reject" || p.ADKIM != "s" || p.ASPF != "r" || p.Pct != 50 {
		t.Errorf("moved.example: policy_published %+v, want the last seen: p=reject sp=reject adkim=s aspf=r pct=50", p)
	}
	wantNote := "the published policy changed during the period: 2 policies seen, p=none sp=none adkim=r aspf=r pct=100 (last seen 2026-12-01T02:00:00Z), " +
		"then p=reject sp=reject adkim=s aspf=r pct=50 (last seen 2026-12-01T09:00:00Z); policy_published is the last one seen"
	if len(moved.Metadata.Errors) != 1 || moved.Metadata.Errors[0] != wantNote {
		t.Errorf("moved.example: errors %q, want %q", moved.Metadata.Errors, wantNote)
	}
	if len(res.Notes) != 1 || !strings.HasPrefix(res.Notes[0], "moved.example: the published policy changed") {
		t.Errorf("notes %q", res.Notes)
	}
}
