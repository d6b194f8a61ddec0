package dmarcreport

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"time"
)

// TooLarge is the short report RFC 7489 §7.2.1 asks for when a report
// cannot go to a URI because it exceeds the URI's size limit: "a short
// report (see Section 7.2.2) indicating that a report is available but
// could not be sent". Its fields are §7.2.2's.
type TooLarge struct {
	Domain   string    // Report-Domain: the policy domain reported on
	ReportID string    // Report-ID: the report that was not sent
	Size     int       // Report-Size: the bytes we would have sent to URI
	URI      string    // Submitting-URI: where the report did not go
	Date     time.Time // Report-Date: when it did not go
}

// ComposeTooLarge is the short report's message to one destination. RFC
// 7489 §7.2.2: a MIME message with a text/plain part of field-value pairs
// as in RFC 3464 §2 (Report-Date, Report-Domain, Report-ID, Report-Size,
// Submitter, Submitting-URI, in any order), and optionally a
// human-readable text/plain part. Report-Size is per URI: a report tried
// at several URIs gets one short report each.
func ComposeTooLarge(rep Reporter, e TooLarge, to, hostname string, now time.Time) []byte {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	writeHeader(&b, rep, to, fmt.Sprintf("Report too large: Report Domain: %s Submitter: %s Report-ID: <%s>", e.Domain, rep.Receiver(), e.ReportID), hostname, now)
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=%q\r\n\r\n", mw.Boundary())
	b.WriteString("A DMARC aggregate report (RFC 7489) could not be sent: it exceeds the size limit of the rua= URI.\r\n")
	fields, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain; charset=us-ascii"}})
	fmt.Fprintf(fields, "Report-Date: %s\r\n", e.Date.Format(time.RFC1123Z))
	fmt.Fprintf(fields, "Report-Domain: %s\r\n", e.Domain)
	fmt.Fprintf(fields, "Report-ID: <%s>\r\n", e.ReportID)
	fmt.Fprintf(fields, "Report-Size: %d\r\n", e.Size)
	fmt.Fprintf(fields, "Submitter: %s\r\n", rep.Receiver())
	fmt.Fprintf(fields, "Submitting-URI: %s\r\n", e.URI)
	text, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain; charset=us-ascii"}})
	fmt.Fprintf(text, "The DMARC aggregate report %s for %s is %d bytes, over the limit\r\n"+
		"that %s sets in the domain's rua= tag. Raise the limit (or drop it)\r\n"+
		"to receive the next reports.\r\n", e.ReportID, e.Domain, e.Size, e.URI)
	mw.Close()
	return b.Bytes()
}
