package sieve

import (
	"bytes"
	"fmt"
	"mime"
	"strings"
	"time"
)

// Reply builds the vacation response to msg (RFC 5230 §5, RFC 3834 §3) as
// a CRLF message, from the user's address recipient unless :from says
// otherwise, to v.To, with Auto-Submitted: auto-replied so that no other
// responder answers it. messageID is the new message's Message-ID (without
// angle brackets). The caller sends it with a null reverse-path (RFC 3834
// §3.3) to v.To.
func (v *Vacation) Reply(msg Message, recipient, reason, messageID string, now time.Time) []byte {
	var b bytes.Buffer
	from := v.From
	if from == "" {
		from = recipient
	}
	subject := v.Subject
	if subject == "" {
		// RFC 3834 §3.1.5: "Auto:" and the subject of the original.
		orig := ""
		if s := headerValues(msg, "Subject"); len(s) > 0 {
			orig = s[0]
		}
		subject = "Auto: " + orig
	}
	header := func(name, value string) {
		fmt.Fprintf(&b, "%s: %s\r\n", name, oneHeaderLine(value))
	}
	header("From", from)
	header("To", v.To)
	header("Subject", mime.QEncoding.Encode("utf-8", subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<"+messageID+">")
	if ids := msg.Header("Message-ID"); len(ids) > 0 {
		id := strings.TrimSpace(ids[0])
		header("In-Reply-To", id)
		refs := strings.Join(strings.Fields(strings.Join(msg.Header("References"), " ")), " ")
		header("References", strings.TrimSpace(refs+" "+id))
	}
	header("Auto-Submitted", "auto-replied (vacation)")
	header("Precedence", "bulk")
	header("MIME-Version", "1.0")
	body := strings.ReplaceAll(strings.ReplaceAll(reason, "\r\n", "\n"), "\n", "\r\n")
	if v.Mime {
		// RFC 5230 §4.6: the reason is a MIME entity, header included.
		b.WriteString(body)
	} else {
		header("Content-Type", "text/plain; charset=utf-8")
		header("Content-Transfer-Encoding", "8bit")
		b.WriteString("\r\n")
		b.WriteString(body)
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	return b.Bytes()
}

// oneHeaderLine keeps a value on its line: no CR or LF from a script or a
// header may start a field of its own.
func oneHeaderLine(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}
