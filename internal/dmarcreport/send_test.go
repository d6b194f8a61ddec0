package dmarcreport

import (
	"context"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mailgate/internal/dns"
	"mailgate/internal/spool"
	"mailgate/internal/store"
)

// txtOnly answers TXT lookups from a map; a name not in it does not exist.
type txtOnly map[string][]string

func (z txtOnly) LookupTXT(_ context.Context, name string) ([]string, error) {
	if v, ok := z[strings.ToLower(name)]; ok {
		return v, nil
	}
	return nil, dns.ErrNotFound
}
func (txtOnly) LookupMX(context.Context, string) ([]*net.MX, error) { return nil, dns.ErrNotFound }
func (txtOnly) LookupIPAddr(context.Context, string) ([]net.IPAddr, error) {
	return nil, dns.ErrNotFound
}
func (txtOnly) LookupAddr(context.Context, string) ([]string, error) { return nil, dns.ErrNotFound }

// TestJobDestinations: the job queues one message per accepted rua=
// destination, from our address: one in the policy domain's organization
// needs no §7.1 record, one outside needs it, one whose !size limit the
// report exceeds gets nothing; a period still running waits unless all;
// a domain that no longer asks for reports loses its counts unsent.
func TestJobDestinations(t *testing.T) {
	ctx := context.Background()
	st, sp := openStoreAndSpool(t)
	now := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)
	day := int64(24 * 3600)
	today := now.Truncate(24 * time.Hour).Unix()
	row := func(domain string, begin int64) store.DMARCCount {
		return store.DMARCCount{PolicyDomain: domain, PeriodBegin: begin, SourceIP: "192.0.2.1", HeaderFrom: domain,
			Disposition: "none", DKIMEval: "fail", SPFEval: "fail", SPFScope: "mfrom", SPFResult: "none", Messages: 3}
	}
	if err := st.AddDMARCCounts(ctx, []store.DMARCCount{row("sender.example", today-day), row("sender.example", today), row("gone.example", today-day)}, nil); err != nil {
		t.Fatal(err)
	}
	j := &Job{Store: st, Spool: sp, Reporter: Reporter{OrgName: "ISP", Email: "dmarc@isp.example"}, Hostname: "mx.isp.example",
		Interval: 24 * time.Hour, Now: func() time.Time { return now },
		Resolver: txtOnly{
			"_dmarc.sender.example":                     {"v=DMARC1; p=none; rua=mailto:own@reports.sender.example,mailto:ext@agg.example,mailto:tiny@sender.example!1k,mailto:nope@other.example"},
			"sender.example._report._dmarc.agg.example": {"v=DMARC1"},
		}}
	res, err := j.Run(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := sp.Entries()
	var to []string
	for _, e := range entries {
		if e.Envelope.From != "dmarc@isp.example" || e.Envelope.Origin != "dmarc-report" {
			t.Fatalf("envelope %+v", e.Envelope)
		}
		to = append(to, e.Envelope.To...)
	}
	slices.Sort(to)
	if res.Reports != 2 || !slices.Equal(to, []string{"ext@agg.example", "own@reports.sender.example"}) {
		t.Fatalf("queued %d to %q; skipped %q", res.Reports, to, res.Skipped)
	}
	skipped := strings.Join(res.Skipped, "\n")
	for _, want := range []string{"nope@other.example does not accept reports", "exceeds tiny@sender.example's limit of 1024", "gone.example: no verified mailto: destination"} {
		if !strings.Contains(skipped, want) {
			t.Errorf("skipped lines %q lack %q", res.Skipped, want)
		}
	}
	// Today's period waits; report-now takes it.
	left, _ := st.DMARCReportDomains(ctx, today+day)
	if !slices.Equal(left, []string{"sender.example"}) {
		t.Fatalf("left after the run: %q", left)
	}
	if res, err := j.Run(ctx, true); err != nil || res.Reports != 2 {
		t.Fatalf("report-now: %+v %v", res, err)
	}
	if left, _ := st.DMARCReportDomains(ctx, today+day); len(left) != 0 {
		t.Fatalf("left after report-now: %q", left)
	}
}

// openStoreAndSpool opens a fresh store and spool, closed with the test.
func openStoreAndSpool(t *testing.T) (*store.Store, *spool.Spool) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "mailgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sp, err := spool.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	return st, sp
}
