package dmarcreport

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/xml"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dmarc"

	"mailgate/internal/authres"
	"mailgate/internal/store"
)

// appendixC is RFC 7489 Appendix C's report, declared from the schema's
// element names (not from our types), to read our XML back.
type appendixC struct {
	XMLName  xml.Name `xml:"feedback"`
	Metadata struct {
		OrgName   string `xml:"org_name"`
		Email     string `xml:"email"`
		ReportID  string `xml:"report_id"`
		DateRange struct {
			Begin int64 `xml:"begin"`
			End   int64 `xml:"end"`
		} `xml:"date_range"`
		Errors []string `xml:"error"`
	} `xml:"report_metadata"`
	Policy struct {
		Domain string `xml:"domain"`
		ADKIM  string `xml:"adkim"`
		ASPF   string `xml:"aspf"`
		P      string `xml:"p"`
		SP     string `xml:"sp"`
		Pct    int    `xml:"pct"`
	} `xml:"policy_published"`
	Records []struct {
		Row struct {
			SourceIP string `xml:"source_ip"`
			Count    int64  `xml:"count"`
			Eval     struct {
				Disposition string `xml:"disposition"`
				DKIM        string `xml:"dkim"`
				SPF         string `xml:"spf"`
				Reason      []struct {
					Type string `xml:"type"`
				} `xml:"reason"`
			} `xml:"policy_evaluated"`
		} `xml:"row"`
		Identifiers struct {
			EnvelopeFrom string `xml:"envelope_from"`
			HeaderFrom   string `xml:"header_from"`
		} `xml:"identifiers"`
		Auth struct {
			DKIM []struct {
				Domain   string `xml:"domain"`
				Selector string `xml:"selector"`
				Result   string `xml:"result"`
			} `xml:"dkim"`
			SPF []struct {
				Domain string `xml:"domain"`
				Scope  string `xml:"scope"`
				Result string `xml:"result"`
			} `xml:"spf"`
		} `xml:"auth_results"`
	} `xml:"record"`
}

type memCounter struct {
	rows     []store.DMARCCount
	policies []store.DMARCPolicy
}

func (m *memCounter) AddDMARCCounts(_ context.Context, cs []store.DMARCCount, ps []store.DMARCPolicy) error {
	m.rows = append(m.rows, cs...)
	m.policies = append(m.policies, ps...)
	return nil
}

// TestReportFromRecordedVerdicts: verdicts recorded by the Recorder (two
// alike from one IP, one from another, one for a domain without rua=)
// become a report whose XML, gzipped inside a MIME message with RFC 7489
// §7.2.1.1's subject and file name, reads back under Appendix C's element
// names with the right counts, IPs, evaluations and results.
func TestReportFromRecordedVerdicts(t *testing.T) {
	day := time.Date(2026, 12, 1, 15, 4, 5, 0, time.UTC)
	r := &Recorder{Interval: 24 * time.Hour, Now: func() time.Time { return day }}
	pct := 50
	rec := &dmarc.Record{Policy: "quarantine", Percent: &pct, SPFAlignment: dmarc.AlignmentStrict, ReportURIAggregate: []string{"mailto:rua@sender.example"}}
	spf := authres.SPF{Result: "pass", Identity: "mailfrom", Domain: "Bounce.Sender.example"}
	pass := []authres.DKIM{{Result: "pass", Domain: "sender.example", Selector: "s1"}, {Result: "fail", Domain: "esp.example", Selector: "x"}}
	ok := authres.DMARC{Result: "pass", From: "sender.example", PolicyDomain: "sender.example", Record: rec, DKIMAligned: true, Disposition: "none"}
	bad := authres.DMARC{Result: "fail", From: "sender.example", PolicyDomain: "sender.example", Record: rec, Disposition: "none", Policy: "quarantine"}
	norua := authres.DMARC{Result: "pass", From: "quiet.example", PolicyDomain: "quiet.example", Record: &dmarc.Record{Policy: "none"}}
	ip1, ip2 := netip.MustParseAddr("192.0.2.10"), netip.MustParseAddr("::ffff:198.51.100.7")
	r.RecordDMARC(ip1, spf, pass, []authres.DMARC{ok, norua}, []authres.Applied{{Disposition: "none"}, {Disposition: "none"}})
	r.RecordDMARC(ip1, spf, pass, []authres.DMARC{ok}, []authres.Applied{{Disposition: "none"}})
	r.RecordDMARC(ip2, authres.SPF{Result: "fail", Identity: "helo", Domain: "mx.forger.example"}, nil, []authres.DMARC{bad}, []authres.Applied{{Disposition: "none", Override: "sampled_out"}})
	var mc memCounter
	if err := r.Flush(context.Background(), &mc); err != nil {
		t.Fatal(err)
	}
	if len(mc.rows) != 2 {
		t.Fatalf("flushed %d rows, want 2 (quiet.example has no rua=): %+v", len(mc.rows), mc.rows)
	}

	rep := Reporter{OrgName: "Example ISP", Email: "dmarc-noreply@isp.example"}
	begin := day.Truncate(24 * time.Hour).Unix()
	if len(mc.policies) != 1 || mc.policies[0].LastSeen != day.UnixNano() {
		t.Fatalf("flushed policies %+v, want sender.example's one, seen at %d", mc.policies, day.UnixNano())
	}
	f := Build(rep, "id-1", "sender.example", nil, mc.policies, begin, begin+86399, mc.rows)
	gz, err := f.Gzipped()
	if err != nil {
		t.Fatal(err)
	}
	msg := Compose(rep, f, gz, "rua@sender.example", "mx.isp.example", day)
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Header.Get("Subject"), "Report Domain: sender.example Submitter: isp.example Report-ID: <id-1>"; got != want {
		t.Fatalf("Subject: %q, want %q", got, want)
	}
	name, raw, got := attachedReport(t, m)
	if name != "isp.example!sender.example!1796083200!1796169599.xml.gz" {
		t.Fatalf("file name %q", name)
	}
	md, pp := got.Metadata, got.Policy
	if md.OrgName != "Example ISP" || md.Email != rep.Email || md.ReportID != "id-1" || md.DateRange.Begin != begin || md.DateRange.End != begin+86399 {
		t.Fatalf("report_metadata: %+v", md)
	}
	if pp.Domain != "sender.example" || pp.P != "quarantine" || pp.SP != "quarantine" || pp.Pct != 50 || pp.ADKIM != "r" || pp.ASPF != "s" {
		t.Fatalf("policy_published: %+v", pp)
	}
	if len(got.Records) != 2 {
		t.Fatalf("%d records, want 2:\n%s", len(got.Records), raw)
	}
	a, b := got.Records[0], got.Records[1]
	if a.Row.SourceIP != "192.0.2.10" || a.Row.Count != 2 || a.Row.Eval.Disposition != "none" || a.Row.Eval.DKIM != "pass" || a.Row.Eval.SPF != "fail" ||
		a.Identifiers.HeaderFrom != "sender.example" || a.Identifiers.EnvelopeFrom != "bounce.sender.example" ||
		len(a.Auth.DKIM) != 2 || a.Auth.DKIM[0].Domain != "esp.example" || a.Auth.DKIM[0].Result != "fail" || a.Auth.DKIM[1].Selector != "s1" ||
		len(a.Auth.SPF) != 1 || a.Auth.SPF[0].Scope != "mfrom" || a.Auth.SPF[0].Result != "pass" {
		t.Fatalf("first record: %+v", a)
	}
	if b.Row.SourceIP != "198.51.100.7" || b.Row.Count != 1 || b.Row.Eval.DKIM != "fail" || len(b.Row.Eval.Reason) != 1 || b.Row.Eval.Reason[0].Type != "sampled_out" ||
		len(b.Auth.DKIM) != 0 || b.Auth.SPF[0].Scope != "helo" || b.Auth.SPF[0].Result != "fail" || b.Identifiers.EnvelopeFrom != "" {
		t.Fatalf("second record: %+v", b)
	}
	// Element order as Appendix C's xs:sequence has it.
	s := string(raw)
	for _, pair := range [][2]string{{"<version>", "<report_metadata>"}, {"<report_metadata>", "<policy_published>"}, {"<policy_published>", "<record>"},
		{"<row>", "<identifiers>"}, {"<identifiers>", "<auth_results>"}, {"<source_ip>", "<count>"}, {"<count>", "<policy_evaluated>"}} {
		if strings.Index(s, pair[0]) > strings.Index(s, pair[1]) {
			t.Fatalf("%s after %s", pair[0], pair[1])
		}
	}
}

// attachedReport is the report a message carries: its file name, its
// XML, and that read by Appendix C's element names.
func attachedReport(t *testing.T, m *mail.Message) (string, []byte, appendixC) {
	t.Helper()
	_, params, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
	mr := multipart.NewReader(m.Body, params["boundary"])
	var name string
	var attachment []byte
	for {
		p, err := mr.NextRawPart()
		if err != nil {
			break
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "application/gzip") {
			name = p.FileName()
			attachment, _ = io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
		}
	}
	zr, err := gzip.NewReader(bytes.NewReader(attachment))
	if err != nil {
		t.Fatalf("attachment is not gzip: %v", err)
	}
	raw, _ := io.ReadAll(zr)
	var got appendixC
	if err := xml.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	return name, raw, got
}

type failingCounter struct{ fail bool }

func (f *failingCounter) AddDMARCCounts(context.Context, []store.DMARCCount, []store.DMARCPolicy) error {
	if f.fail {
		return context.DeadlineExceeded
	}
	return nil
}

// TestFlushKeepsCountsTheStoreRefused: a failed write keeps the counts for
// the next flush, added to the ones recorded since.
func TestFlushKeepsCountsTheStoreRefused(t *testing.T) {
	r := &Recorder{Interval: time.Hour}
	rec := &dmarc.Record{Policy: "none", ReportURIAggregate: []string{"mailto:a@b.example"}}
	d := []authres.DMARC{{Result: "pass", From: "b.example", PolicyDomain: "b.example", Record: rec}}
	ip := netip.MustParseAddr("192.0.2.1")
	r.RecordDMARC(ip, authres.SPF{}, nil, d, []authres.Applied{{Disposition: "none"}})
	if err := r.Flush(context.Background(), &failingCounter{fail: true}); err == nil {
		t.Fatal("the store's error was lost")
	}
	r.RecordDMARC(ip, authres.SPF{}, nil, d, []authres.Applied{{Disposition: "none"}})
	var mc memCounter
	if err := r.Flush(context.Background(), &mc); err != nil {
		t.Fatal(err)
	}
	if len(mc.rows) != 1 || mc.rows[0].Messages != 2 || len(mc.policies) != 1 || mc.policies[0].P != "none" {
		t.Fatalf("after a failed flush: %+v and policies %+v, want one row of 2 and p=none", mc.rows, mc.policies)
	}
	if err := r.Flush(context.Background(), &failingCounter{fail: true}); err != nil {
		t.Fatalf("an empty flush wrote: %v", err)
	}
}

// TestTrustedForwarderReason: a DMARC fail whose policy a trusted ARC
// sealer's results overruled is reported with disposition none and
// Appendix C's reason trusted_forwarder, its comment naming the sealer;
// two sealers' messages are two records.
func TestTrustedForwarderReason(t *testing.T) {
	day := time.Date(2026, 12, 1, 15, 4, 5, 0, time.UTC)
	r := &Recorder{Interval: 24 * time.Hour, Now: func() time.Time { return day }}
	rec := &dmarc.Record{Policy: "reject", ReportURIAggregate: []string{"mailto:rua@sender.example"}}
	bad := authres.DMARC{Result: "fail", From: "sender.example", PolicyDomain: "sender.example", Record: rec, Disposition: "reject", Policy: "reject", TrustedSealer: "google.com"}
	spf := authres.SPF{Result: "fail", Identity: "mailfrom", Domain: "sender.example"}
	ip := netip.MustParseAddr("192.0.2.10")
	for _, sealer := range []string{"google.com", "google.com", "outlook.com"} {
		r.RecordDMARC(ip, spf, nil, []authres.DMARC{bad}, []authres.Applied{{Disposition: "none", Override: "trusted_forwarder",
			Comment: "arc=pass as[2].d=" + sealer + " as[2].s=arc"}})
	}
	var mc memCounter
	if err := r.Flush(context.Background(), &mc); err != nil {
		t.Fatal(err)
	}
	begin := day.Truncate(24 * time.Hour).Unix()
	f := Build(Reporter{OrgName: "Example ISP", Email: "dmarc@isp.example"}, "id-2", "sender.example", nil, mc.policies, begin, begin+86399, mc.rows)
	raw, err := xml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	for _, want := range []string{
		"<count>2</count><policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>fail</spf>" +
			"<reason><type>trusted_forwarder</type><comment>arc=pass as[2].d=google.com as[2].s=arc</comment></reason></policy_evaluated>",
		"<count>1</count><policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>fail</spf>" +
			"<reason><type>trusted_forwarder</type><comment>arc=pass as[2].d=outlook.com as[2].s=arc</comment></reason></policy_evaluated>",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %s:\n%s", want, s)
		}
	}
}
