package e2e

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strconv"
	"strings"
	"testing"
)

// dmarcFeedback is what the e2e test reads of a report, by RFC 7489
// Appendix C's element names.
type dmarcFeedback struct {
	Metadata struct {
		OrgName   string `xml:"org_name"`
		Email     string `xml:"email"`
		ReportID  string `xml:"report_id"`
		DateRange struct {
			Begin int64 `xml:"begin"`
			End   int64 `xml:"end"`
		} `xml:"date_range"`
	} `xml:"report_metadata"`
	Policy struct {
		Domain string `xml:"domain"`
		P      string `xml:"p"`
	} `xml:"policy_published"`
	Records []struct {
		SourceIP string `xml:"row>source_ip"`
		Count    int    `xml:"row>count"`
		DKIM     string `xml:"row>policy_evaluated>dkim"`
		SPF      string `xml:"row>policy_evaluated>spf"`
		From     string `xml:"identifiers>header_from"`
		SPFAuth  string `xml:"auth_results>spf>result"`
	} `xml:"record"`
}

// TestDMARCAggregateReportReachesRUA: three messages from 127.0.0.1 to our
// MX claim From sender.test, whose DMARC record asks for reports at
// reports@far.test (another organization, which accepts them through
// sender.test._report._dmarc.far.test, RFC 7489 §7.1); one more claims
// unverified.test, whose rua= names far.test without that record. After a
// graceful stop (the counts are flushed) and sender.test's change to
// p=quarantine, `mailgate dmarc report-now`
// queues one report and skips unverified.test; the restarted node delivers
// it to far.test's MX (Postfix's smtp-sink) with RFC 7489 §7.2.1.1's
// subject and a gzip attachment whose Appendix C XML counts 2 messages
// that pass SPF aligned and 1 that fails, both from 127.0.0.1, under
// policy_published p=none (the policy they were judged under). A second
// report-now has nothing left to send.
func TestDMARCAggregateReportReachesRUA(t *testing.T) {
	port := FreePort(t)
	sk := startSink(t, "127.0.0.1", port, "")
	d := startDNS(t,
		`sender.test. 60 IN TXT "v=spf1 ip4:127.0.0.1 -all"`,
		`_dmarc.sender.test. 60 IN TXT "v=DMARC1; p=none; rua=mailto:reports@far.test!10m,https://ignored.example/"`,
		`sender.test._report._dmarc.far.test. 60 IN TXT "v=DMARC1"`,
		`unverified.test. 60 IN TXT "v=spf1 ip4:127.0.0.1 -all"`,
		`_dmarc.unverified.test. 60 IN TXT "v=DMARC1; p=none; rua=mailto:reports@far.test"`,
		"far.test. 60 IN MX 10 mx.far.test.", "mx.far.test. 60 IN A 127.0.0.1")
	n := NewNode(t, "", fmt.Sprintf("[delivery]\nremote_port = %d\nretry_initial = \"200ms\"\nretry_max = \"500ms\"\nscan_interval = \"200ms\"\n"+
		"[dns]\nservers = [%q]\ntimeout = \"2s\"\n"+
		"[dmarc_reports]\nenabled = true\norg_name = \"Test ISP\"\nfrom = \"dmarc-reports@example.net\"\n", port, d.Addr))
	n.AddUser("alice@example.net", "alice-secret-1")
	n.Start()
	for i, mailFrom := range []string{"bounce@sender.test", "bounce@sender.test", "x@unverified.test"} {
		if out, err := sendMX(t, n, "client.example", mailFrom, msgFrom("ceo@sender.test", fmt.Sprintf("aligned-%d", i))); err != nil {
			t.Fatalf("message %d: %v\n%s", i, err, out)
		}
	}
	if out, err := sendMX(t, n, "client.example", "x@unverified.test", msgFrom("ceo@unverified.test", "unverified")); err != nil {
		t.Fatalf("unverified.test: %v\n%s", err, out)
	}
	n.Stop()
	// sender.test tightens its policy before the report goes: the report
	// still says p=none, the policy the messages were judged under
	// (RFC 7489 §7.2, policy_published for the period).
	d.replace(t, `_dmarc.sender.test. 60 IN TXT "v=DMARC1; p=quarantine; rua=mailto:reports@far.test!10m,https://ignored.example/"`)
	out := n.MustCLI("", "dmarc", "report-now")
	if !strings.Contains(out, "1 report(s) queued for 1 domain(s)") || !strings.Contains(out, "skipped: unverified.test: reports@far.test does not accept reports") {
		t.Fatalf("report-now:\n%s", out)
	}
	if again := n.MustCLI("", "dmarc", "report-now"); again != "0 report(s) queued for 0 domain(s)\n" {
		t.Fatalf("second report-now: %q", again)
	}
	n.Start()
	msg, m, mr := sunkReport(t, sk, n)
	subject := m.Header.Get("Subject")
	if !strings.HasPrefix(subject, "Report Domain: sender.test Submitter: example.net Report-ID: <") {
		t.Fatalf("Subject: %q", subject)
	}
	if from := m.Header.Get("From"); !strings.Contains(from, "<dmarc-reports@example.net>") {
		t.Fatalf("From: %q", from)
	}
	var gz []byte
	var name string
	for {
		p, err := mr.NextRawPart()
		if err != nil {
			break
		}
		if strings.HasPrefix(p.Header.Get("Content-Type"), "application/gzip") {
			name = p.FileName()
			gz, _ = io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
		}
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatalf("attachment %q is not gzip: %v\n%s", name, err, msg)
	}
	raw, _ := io.ReadAll(zr)
	var f dmarcFeedback
	if err := xml.Unmarshal(raw, &f); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	wantName := fmt.Sprintf("example.net!sender.test!%d!%d.xml.gz", f.Metadata.DateRange.Begin, f.Metadata.DateRange.End)
	if name != wantName {
		t.Fatalf("file name %q, want %q", name, wantName)
	}
	if f.Metadata.OrgName != "Test ISP" || f.Metadata.Email != "dmarc-reports@example.net" || f.Policy.Domain != "sender.test" || f.Policy.P != "none" {
		t.Fatalf("metadata %+v, policy %+v", f.Metadata, f.Policy)
	}
	counts := map[string]int{}
	for _, r := range f.Records {
		if r.SourceIP != "127.0.0.1" || r.From != "sender.test" || r.DKIM != "fail" {
			t.Fatalf("record %+v\n%s", r, raw)
		}
		counts[r.SPF+"/"+r.SPFAuth] += r.Count
	}
	if len(f.Records) != 2 || counts["pass/pass"] != 2 || counts["fail/pass"] != 1 {
		t.Fatalf("records: %+v (want 2 aligned SPF passes, 1 SPF pass for unverified.test, not aligned)\n%s", counts, raw)
	}
}

// TestDMARCReportTooLargeSendsShortReport: sender.test's rua= caps
// reports at 2 KiB (RFC 7489 §6.4 "!2k"); thirty messages with as many
// envelope domains (hex strings: gzip cannot shrink them) make a report over it, so `mailgate dmarc report-now`
// queues RFC 7489 §7.2.2's short report instead (§7.2.1), and far.test's
// MX (smtp-sink) receives it: Report-Domain, Report-ID (the subject's),
// Report-Size (over the limit), Submitter and Submitting-URI in its first
// text/plain part, and no report attached.
func TestDMARCReportTooLargeSendsShortReport(t *testing.T) {
	port := FreePort(t)
	sk := startSink(t, "127.0.0.1", port, "")
	d := startDNS(t,
		`_dmarc.sender.test. 60 IN TXT "v=DMARC1; p=none; rua=mailto:small@far.test!2k"`,
		`sender.test._report._dmarc.far.test. 60 IN TXT "v=DMARC1"`,
		"far.test. 60 IN MX 10 mx.far.test.", "mx.far.test. 60 IN A 127.0.0.1")
	n := NewNode(t, "", fmt.Sprintf("[delivery]\nremote_port = %d\nretry_initial = \"200ms\"\nretry_max = \"500ms\"\nscan_interval = \"200ms\"\n"+
		"[dns]\nservers = [%q]\ntimeout = \"2s\"\n"+
		"[dmarc_reports]\nenabled = true\norg_name = \"Test ISP\"\nfrom = \"dmarc-reports@example.net\"\n", port, d.Addr))
	n.AddUser("alice@example.net", "alice-secret-1")
	n.Start()
	for i := range 30 {
		mailFrom := fmt.Sprintf("bounce@%x.example", sha256.Sum256([]byte{byte(i)}))
		if out, err := sendMX(t, n, "client.example", mailFrom, msgFrom("ceo@sender.test", fmt.Sprintf("bulk-%d", i))); err != nil {
			t.Fatalf("message %d: %v\n%s", i, err, out)
		}
	}
	n.Stop()
	out := n.MustCLI("", "dmarc", "report-now")
	if !strings.Contains(out, "0 report(s) queued for 1 domain(s)\n1 short report(s) queued instead of reports over a destination's size limit\n") ||
		!strings.Contains(out, "exceeds small@far.test's limit of 2048; sent the short report saying so instead") {
		t.Fatalf("report-now:\n%s", out)
	}
	n.Start()
	raw, m, mr := sunkReport(t, sk, n)
	subject := m.Header.Get("Subject")
	_, reportID, _ := strings.Cut(subject, "Report-ID: ")
	if !strings.HasPrefix(subject, "Report too large: Report Domain: sender.test Submitter: example.net Report-ID: <") {
		t.Fatalf("Subject: %q", subject)
	}
	first, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(first)
	fields := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(body)), "\n") { // smtp-sink stores LF
		k, v, _ := strings.Cut(strings.TrimSuffix(l, "\r"), ": ")
		fields[k] = v
	}
	size, _ := strconv.Atoi(fields["Report-Size"])
	if fields["Report-Domain"] != "sender.test" || fields["Report-ID"] != reportID || size <= 2048 || fields["Submitter"] != "example.net" ||
		fields["Submitting-URI"] != "mailto:small@far.test" || fields["Report-Date"] == "" {
		t.Fatalf("short report fields %q (subject's Report-ID %s)\n%s", fields, reportID, raw)
	}
	t.Logf("report of %d bytes, short report of %d", size, len(raw))
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Fatalf("the short report holds a %s part", ct)
		}
	}
}

// sunkReport waits for the one message the sink should get and returns
// it raw, parsed, and its MIME parts.
func sunkReport(t *testing.T, sk *sink, n *Node) (string, *mail.Message, *multipart.Reader) {
	t.Helper()
	got := sk.wait(t, 1, n)
	if len(got) != 1 {
		t.Fatalf("the sink holds %d messages, want 1", len(got))
	}
	m, err := mail.ReadMessage(strings.NewReader(got[0]))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	return got[0], m, multipart.NewReader(m.Body, params["boundary"])
}
