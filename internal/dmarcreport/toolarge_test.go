package dmarcreport

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailgate/internal/spool"
	"mailgate/internal/store"
)

// TestJobTooLargeSendsShortReport: a report over a destination's !size
// limit goes to the destinations without one; the limited one gets RFC
// 7489 §7.2.2's short report instead (§7.2.1): a MIME message whose first
// text/plain part holds Report-Date, Report-Domain, Report-ID, Report-Size
// (the size of the report as it would have gone, here the same bytes as
// the other destination's), Submitter and Submitting-URI. A limit the
// short report exceeds too gets nothing.
func TestJobTooLargeSendsShortReport(t *testing.T) {
	ctx := context.Background()
	st, sp := openStoreAndSpool(t)
	now := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)
	yesterday := now.Truncate(24*time.Hour).Unix() - 24*3600
	var rows []store.DMARCCount
	for i := range 300 { // 300 sources: a report of several KiB even gzipped
		rows = append(rows, store.DMARCCount{PolicyDomain: "sender.example", PeriodBegin: yesterday, SourceIP: fmt.Sprintf("192.0.%d.%d", i/200, i%200+1),
			HeaderFrom: "sender.example", Disposition: "none", DKIMEval: "fail", SPFEval: "fail", SPFScope: "mfrom", SPFResult: "none", Messages: int64(i + 1)})
	}
	if err := st.AddDMARCCounts(ctx, rows, nil); err != nil {
		t.Fatal(err)
	}
	j := &Job{Store: st, Spool: sp, Reporter: Reporter{OrgName: "ISP", Email: "dmarc@isp.example"}, Hostname: "mx.isp.example",
		Interval: 24 * time.Hour, Now: func() time.Time { return now },
		Resolver: txtOnly{"_dmarc.sender.example": {"v=DMARC1; p=none; rua=mailto:all@sender.example,mailto:lim@sender.example!4k,mailto:one@sender.example!1"}}}
	res, err := j.Run(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Reports != 1 || res.TooLarge != 1 {
		t.Fatalf("reports %d, short reports %d; skipped %q", res.Reports, res.TooLarge, res.Skipped)
	}
	skipped := strings.Join(res.Skipped, "\n")
	for _, want := range []string{"exceeds lim@sender.example's limit of 4096; sent the short report", "exceeds one@sender.example's limit of 1; so does the short report"} {
		if !strings.Contains(skipped, want) {
			t.Errorf("skipped lines %q lack %q", res.Skipped, want)
		}
	}
	byTo := spooledByRecipient(t, sp)
	if len(byTo) != 2 {
		t.Fatalf("spooled for %d recipients, want all@ and lim@", len(byTo))
	}
	full, short := byTo["all@sender.example"], byTo["lim@sender.example"]
	if len(full) <= 4096 || len(short) > 4096 {
		t.Fatalf("report %d bytes, short report %d bytes: the test wants one over 4 KiB and one under", len(full), len(short))
	}
	fullMsg, err := mail.ReadMessage(strings.NewReader(full))
	if err != nil {
		t.Fatal(err)
	}
	_, reportID, _ := strings.Cut(fullMsg.Header.Get("Subject"), "Report-ID: ")
	for _, m := range []string{full, short} { // RFC 5322 §3.6.4: msg-id = "<" id-left "@" id-right ">"
		if id := mustRead(t, m).Header.Get("Message-ID"); !msgID.MatchString(id) {
			t.Errorf("Message-ID %q", id)
		}
	}
	fields, subject := shortReportFields(t, short)
	if subject != "Report too large: Report Domain: sender.example Submitter: isp.example Report-ID: "+reportID {
		t.Errorf("Subject: %q (report's Report-ID %s)", subject, reportID)
	}
	want := map[string]string{
		"Report-Date":    now.Format(time.RFC1123Z),
		"Report-Domain":  "sender.example",
		"Report-Id":      reportID,
		"Report-Size":    strconv.Itoa(len(full)), // the same length: To addresses of one length
		"Submitter":      "isp.example",
		"Submitting-Uri": "mailto:lim@sender.example",
	}
	for k, v := range want {
		if got := fields.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
}

var msgID = regexp.MustCompile(`^<[^<>@\s]+@mx\.isp\.example>$`)

// spooledByRecipient is the spool's messages by their one recipient.
func spooledByRecipient(t *testing.T, sp *spool.Spool) map[string]string {
	t.Helper()
	entries, err := sp.Entries()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		m, err := sp.Open(e.Envelope.ID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(m.Body())
		m.Close()
		out[strings.Join(e.Envelope.To, ",")] = string(b)
	}
	return out
}

// shortReportFields reads RFC 7489 §7.2.2's field-value pairs from the
// short report's first text/plain part, and its Subject.
func shortReportFields(t *testing.T, msg string) (textproto.MIMEHeader, string) {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	p, err := multipart.NewReader(m.Body, params["boundary"]).NextPart()
	if err != nil {
		t.Fatal(err)
	}
	if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("first part %q, want text/plain", ct)
	}
	fields, err := textproto.NewReader(bufio.NewReader(io.MultiReader(p, strings.NewReader("\r\n")))).ReadMIMEHeader()
	if err != nil {
		t.Fatalf("field-value pairs: %v", err)
	}
	return fields, m.Header.Get("Subject")
}

func mustRead(t *testing.T, msg string) *mail.Message {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	return m
}
