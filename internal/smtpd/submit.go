package smtpd

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"

	"github.com/emersion/go-smtp"

	"mailgate/internal/store"
)

// Submission is one message handed in by an authenticated account without
// an SMTP connection (webmail). Submit runs it through the submission
// session's own MAIL, RCPT and DATA, so every submission rule (sender
// ownership, account status, send limits, recipient limits, the verdict
// stages: virus, spam, and the spool whose delivery signs with DKIM)
// applies to it exactly as on port 587.
type Submission struct {
	// Account is the authenticated account (the web session's).
	Account string
	// Client is the address the request came from (the Received field,
	// the verdict stages, the logs).
	Client netip.Addr
	// From is the envelope sender (RFC 5321 MAIL FROM); Rcpts the
	// envelope recipients, Bcc included.
	From  string
	Rcpts []string
	// Body is the whole message, header and body, CRLF or LF line ends.
	Body []byte
	// Via names the face the message came through, for the Received
	// field and the logs: "webmail".
	Via string
	// TLS is the HTTPS connection's state, for the Received field (RFC
	// 8314 §4.3); nil (or one without a version: a request another node
	// of a fleet proxied here) leaves it out.
	TLS *tls.ConnectionState
}

// with is the Received field's protocol (RFC 5321 §4.4 "with"): the
// message came over HTTPS (the webmail is HTTPS only), not SMTP.
func (sub *Submission) with() string { return "HTTPS" }

// RFC 5321 §3.3: a transaction needs at least one recipient (go-smtp's
// "503 5.5.1 Missing RCPT TO command" on SMTP).
var errNoRecipients = &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "No recipients: add at least one address"}

// Submit runs one submission through the submission session's MAIL, RCPT
// and DATA and returns the queue ID of the accepted message, or the reply
// an SMTP client would have had (the first refusal: a refused recipient's
// reply names the address).
func (s *Server) Submit(ctx context.Context, sub Submission) (string, *smtp.SMTPError) {
	acct, err := s.Dir.Account(ctx, sub.Account)
	if errors.Is(err, store.ErrNotFound) {
		return "", errAuthRequired
	} else if err != nil {
		return "", errTempLocal
	}
	ss := s.newDirectSession(&sub, acct)
	// Gives back the send-limit reservations unless DATA kept them.
	defer ss.Reset()
	if err := ss.Mail(sub.From, nil); err != nil {
		return "", asReply(err)
	}
	for _, rcpt := range sub.Rcpts {
		if err := ss.Rcpt(rcpt, nil); err != nil {
			r := *asReply(err)
			r.Message = fmt.Sprintf("<%s>: %s", rcpt, r.Message)
			return "", &r
		}
	}
	if len(ss.rcpts) == 0 {
		return "", errNoRecipients
	}
	// What go-smtp's DATA reader enforces on the wire.
	if max := s.Config.MaxMessageBytes; max > 0 && int64(len(sub.Body)) > max {
		return "", smtp.ErrDataTooLarge
	}
	// RFC 5321 §4.5.3.1.6 counts a line with its CRLF, as go-smtp's
	// reader does.
	if max := s.Config.MaxLineLength; max > 0 && longestLine(sub.Body)+2 > max {
		return "", errLineTooLong
	}
	reply := asReply(ss.Data(bytes.NewReader(sub.Body)))
	if reply.Code != 250 {
		return "", reply
	}
	return ss.queued, nil
}

// newDirectSession is a submission session with no connection, already
// authenticated as acct.
func (s *Server) newDirectSession(sub *Submission, acct *store.Account) *submissionSession {
	service := sub.Via
	if service == "" {
		service = "direct"
	}
	ip := sub.Client.Unmap().String()
	return &submissionSession{
		session: session{srv: s, service: service, client: ip, direct: sub,
			log: s.Log.With("service", service, "client", ip, "account", acct.Address)},
		account: acct,
	}
}

// asReply is a session method's refusal as an SMTP reply; nil (go-smtp's
// 250) is a 250.
func asReply(err error) *smtp.SMTPError {
	var se *smtp.SMTPError
	switch {
	case err == nil:
		return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "OK"}
	case errors.As(err, &se):
		return se
	}
	return errTempLocal
}

// longestLine is the length of b's longest line without its line end.
func longestLine(b []byte) int {
	longest := 0
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			i = len(b)
		}
		n := i
		if n > 0 && b[n-1] == '\r' {
			n--
		}
		longest = max(longest, n)
		b = b[min(i+1, len(b)):]
	}
	return longest
}

// helo is the name the client gave in EHLO; a direct submission names its
// face instead ("webmail").
func (s *session) helo() string {
	if s.conn == nil {
		return s.service
	}
	return s.conn.Hostname()
}

// tlsState is the connection's TLS state; a direct submission's is the
// HTTPS connection's.
func (s *session) tlsState() (tls.ConnectionState, bool) {
	if s.conn == nil {
		if s.direct != nil && s.direct.TLS != nil && s.direct.TLS.Version != 0 {
			return *s.direct.TLS, true
		}
		return tls.ConnectionState{}, false
	}
	return s.conn.TLSConnectionState()
}
