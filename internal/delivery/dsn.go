package delivery

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"mailgate/internal/message"
	"mailgate/internal/spool"
)

// DSN actions (RFC 3464 §2.3.3).
const (
	ActionFailed  = "failed"
	ActionDelayed = "delayed"
)

// maxReturnedHeader bounds the original header returned in a DSN.
const maxReturnedHeader = 64 << 10

// enhancedRe finds the RFC 3463 code of "550 5.1.1 text" (a reply) or
// "4.4.7 text" (our own diagnostic).
var enhancedRe = regexp.MustCompile(`^(?:[245]\d\d )?([245]\.\d{1,3}\.\d{1,3})\b`)

// replyRe tells an SMTP reply from a diagnostic of our own.
var replyRe = regexp.MustCompile(`^[245]\d\d `)

// statusOf extracts the RFC 3463 status code from a reply text, or makes
// one from its class.
func statusOf(text, action string) string {
	if m := enhancedRe.FindStringSubmatch(text); m != nil {
		return m[1]
	}
	if action == ActionFailed && !strings.HasPrefix(text, "4") {
		return "5.0.0"
	}
	return "4.0.0"
}

// BuildDSN writes a delivery status notification (RFC 3464, in an RFC 6522
// multipart/report) about rcpts of the spooled message m, to be sent to
// m's envelope sender with an empty envelope sender. It returns the
// envelope and the CRLF message.
// retryUntil, for a "delayed" report, is when the queue gives up (zero:
// not said).
func BuildDSN(hostname string, m *spool.Message, rcpts []spool.RcptState, action string, now, retryUntil time.Time) (*spool.Envelope, []byte) {
	env := &m.Envelope
	var b bytes.Buffer
	boundary := "=_mailgate_" + randHex(12)
	subject := "Undelivered Mail Returned to Sender"
	if action == ActionDelayed {
		subject = "Delayed Mail (still being retried)"
	}
	// RFC 3834 §5: Auto-Submitted auto-replied (a response a program made
	// to a message); RFC 3464 §3: the report goes to the envelope sender,
	// from a null reverse-path.
	fmt.Fprintf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", hostname)
	fmt.Fprintf(&b, "To: <%s>\r\n", env.From)
	fmt.Fprintf(&b, "Subject: %s\r\n", subject)
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	b.WriteString(message.MessageIDField(hostname, now) + "\r\n")
	b.WriteString("Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n")
	fmt.Fprintf(&b, "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n\r\n", boundary)
	b.WriteString("This is a MIME-encapsulated delivery status notification.\r\n\r\n")

	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Description: Notification\r\n\r\n", boundary)
	fmt.Fprintf(&b, "This is the mail system at host %s.\r\n\r\n", hostname)
	if action == ActionDelayed {
		fmt.Fprintf(&b, "Your message (queued since %s) could not be delivered yet.\r\nIt is still being retried; you do not need to resend it.\r\n",
			env.Received.UTC().Format(time.RFC1123Z))
		if !retryUntil.IsZero() {
			fmt.Fprintf(&b, "Delivery will be attempted until %s.\r\n", retryUntil.UTC().Format(time.RFC1123Z))
		}
		b.WriteString("\r\n")
	} else {
		b.WriteString("Your message could not be delivered to one or more recipients.\r\nIt is attached below.\r\n\r\n")
	}
	for _, r := range rcpts {
		fmt.Fprintf(&b, "<%s>: %s\r\n", r.Addr, oneLine(r.Error))
	}

	// RFC 3464 §2.2: per-message fields, then one block per recipient.
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: message/delivery-status\r\nContent-Description: Delivery report\r\n\r\n", boundary)
	fmt.Fprintf(&b, "Reporting-MTA: dns; %s\r\nX-Mailgate-Queue-ID: %s\r\nArrival-Date: %s\r\n",
		hostname, env.ID, env.Received.Format(time.RFC1123Z))
	for _, r := range rcpts {
		fmt.Fprintf(&b, "\r\nFinal-Recipient: rfc822; %s\r\nAction: %s\r\nStatus: %s\r\n", r.Addr, action, statusOf(r.Error, action))
		if r.Remote != "" {
			host, _, _ := strings.Cut(r.Remote, "[")
			fmt.Fprintf(&b, "Remote-MTA: dns; %s\r\n", host)
		}
		if r.Error != "" {
			// RFC 3464 §2.3.6: "smtp" for a reply, else our own type.
			typ := "smtp"
			if !replyRe.MatchString(r.Error) {
				typ = "X-mailgate"
			}
			fmt.Fprintf(&b, "Diagnostic-Code: %s; %s\r\n", typ, oneLine(r.Error))
		}
		fmt.Fprintf(&b, "Last-Attempt-Date: %s\r\n", now.Format(time.RFC1123Z))
		if action == ActionDelayed && !retryUntil.IsZero() {
			// RFC 3464 §2.3.9.
			fmt.Fprintf(&b, "Will-Retry-Until: %s\r\n", retryUntil.Format(time.RFC1123Z))
		}
	}
	// RFC 6522 §3: the third part returns the original; we return its
	// header only (text/rfc822-headers), enough to identify it.
	fmt.Fprintf(&b, "\r\n--%s\r\nContent-Type: text/rfc822-headers\r\nContent-Description: Undelivered message headers\r\n\r\n", boundary)
	b.Write(originalHeader(m))
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)

	out := &spool.Envelope{From: "", To: []string{env.From}, Received: now, Origin: "bounce"}
	return out, message.NormalizeCRLF(b.Bytes())
}

// originalHeader returns the header block of m (without the blank line).
func originalHeader(m *spool.Message) []byte {
	br := bufio.NewReader(io.LimitReader(m.Body(), maxReturnedHeader))
	var h bytes.Buffer
	for {
		line, err := br.ReadBytes('\n')
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
		h.Write(line)
		if err != nil {
			h.WriteString("\r\n")
			break
		}
	}
	return h.Bytes()
}

// oneLine keeps a diagnostic from breaking the field it goes in.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 900 {
		s = s[:900]
	}
	return s
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
