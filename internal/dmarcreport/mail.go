package dmarcreport

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"mime"
	"mime/multipart"
	"net/textproto"
	"time"

	"mailgate/internal/message"
)

// Compose is the report's message to one destination (RFC 7489
// §7.2.1.1): the subject "Report Domain: ... Submitter: ... Report-ID:
// <...>", a short text part, and the gzipped XML as an application/gzip
// attachment (RFC 6713) named by Filename. Auto-Submitted (RFC 3834 §5)
// keeps vacation responders quiet.
func Compose(rep Reporter, f *Feedback, gz []byte, to, hostname string, now time.Time) []byte {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	domain := f.PolicyPublished.Domain
	writeHeader(&b, rep, to, fmt.Sprintf("Report Domain: %s Submitter: %s Report-ID: <%s>", domain, rep.Receiver(), f.ReportMetadata.ReportID), hostname, now)
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=%q\r\n\r\n", mw.Boundary())
	b.WriteString("This is a DMARC aggregate report (RFC 7489).\r\n")

	text, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain; charset=us-ascii"}})
	fmt.Fprintf(text, "DMARC aggregate report for %s from %s, %s to %s (UTC).\r\n", domain, rep.Receiver(),
		time.Unix(f.ReportMetadata.DateRange.Begin, 0).UTC().Format(time.DateTime), time.Unix(f.ReportMetadata.DateRange.End, 0).UTC().Format(time.DateTime))
	for _, e := range f.ReportMetadata.Errors {
		fmt.Fprintf(text, "Note: %s.\r\n", e)
	}

	name := f.Filename(rep.Receiver())
	att, _ := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {mime.FormatMediaType("application/gzip", map[string]string{"name": name})},
		"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": name})},
		"Content-Transfer-Encoding": {"base64"},
	})
	enc := base64.StdEncoding.EncodeToString(gz)
	for len(enc) > 76 {
		fmt.Fprintf(att, "%s\r\n", enc[:76])
		enc = enc[76:]
	}
	fmt.Fprintf(att, "%s\r\n", enc)
	mw.Close()
	return b.Bytes()
}

// writeHeader is the header of a report's message up to its
// Content-Type: from our address, to one destination, auto-generated.
func writeHeader(b *bytes.Buffer, rep Reporter, to, subject, hostname string, now time.Time) {
	from := rep.Email
	if rep.OrgName != "" {
		from = mime.QEncoding.Encode("UTF-8", rep.OrgName) + " <" + rep.Email + ">"
	}
	fmt.Fprintf(b, "From: %s\r\n", from)
	fmt.Fprintf(b, "To: <%s>\r\n", to)
	fmt.Fprintf(b, "Subject: %s\r\n", subject)
	fmt.Fprintf(b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	b.WriteString(message.MessageIDField(hostname, now) + "\r\n")
	b.WriteString("Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n")
}
