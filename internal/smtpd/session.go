package smtpd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"time"

	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"mailgate/internal/address"
	"mailgate/internal/message"
	"mailgate/internal/metrics"
	"mailgate/internal/spool"
	"mailgate/internal/store"
)

var (
	// RFC 6409 §6.3 / RFC 5322: a message whose header cannot be parsed.
	errBadHeader   = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message header malformed or without From:"}
	errNoSuchUser  = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	errTempLocal   = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Local error, try again later"}
	errTooManyErrs = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many errors, closing connection"}
)

// errTooManyRcpts is RFC 5321 §4.5.3.1.10's 452 (X.5.3, RFC 3463 §3.6).
// The session answers it rather than go-smtp, which would not count it
// toward the error limit: 10,000 RCPTs over the limit kept one session
// busy.
func errTooManyRcpts(max int) error {
	return &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 5, 3}, Message: fmt.Sprintf("Too many recipients: at most %d per message", max)}
}

// session is what the MX and submission sessions share: the envelope being
// built, the connection, and the path from DATA to the spool.
type session struct {
	srv     *Server
	conn    *smtp.Conn
	service string
	log     *slog.Logger
	client  string // remote IP
	// tlsAtStart tells the Logout go-smtp calls at STARTTLS (the session
	// began in plaintext, the connection is TLS now) from the one at the
	// end of the connection.
	tlsAtStart bool
	// direct is set, and conn nil, for a submission made without an SMTP
	// connection (Submit: webmail).
	direct *Submission

	from    string
	hasFrom bool
	rcpts   []string
	// rcptsTaken counts the RCPTs accepted, repeats included, for
	// max_recipients.
	rcptsTaken int
}

func newSession(s *Server, c *smtp.Conn, service string) session {
	ip := remoteIP(c.Conn())
	_, isTLS := c.TLSConnectionState()
	// go-smtp starts a new session after STARTTLS: that is the same one.
	if !isTLS || service == "submissions" {
		metrics.Sessions.WithLabelValues(service).Inc()
	}
	return session{srv: s, conn: c, service: service, client: ip, tlsAtStart: isTLS, log: s.Log.With("service", service, "client", ip)}
}

// countMessage counts a DATA transaction by the reply it got; Data calls
// it deferred with its named result.
func (s *session) countMessage(err *error) {
	code := 250
	var se *smtp.SMTPError
	if errors.As(*err, &se) {
		code = se.Code
	} else if *err != nil {
		code = 451
	}
	metrics.Messages.WithLabelValues(s.service, metrics.SMTPResult(code)).Inc()
	countRejection(s.service, *err)
}

// countRejection counts a refusal by its enhanced status code
// (metrics.Rejections); an error that is no SMTP reply goes out as 451.
func countRejection(service string, err error) {
	if err == nil || errors.Is(err, errTooManyErrs) {
		return
	}
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		se = errTempLocal
	}
	metrics.Rejected(service, se.Code, se.EnhancedCode)
}

// checkHelo refuses the first HELO/EHLO of a session whose argument holds
// a control character (see errControlChar); the client may try again.
func checkHelo(c *smtp.Conn) error {
	if hasControlChar(c.Hostname()) {
		return errControlChar
	}
	return nil
}

func remoteIP(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// reject counts a refused command and, past the hard error limit (as
// Postfix's smtpd_hard_error_limit), closes the connection after replying.
func (s *session) reject(err error) error {
	countRejection(s.service, err)
	if s.conn != nil && s.srv.tooManyErrors(s.conn, s.service) {
		return errTooManyErrs
	}
	return err
}

// refused counts the refusals go-smtp makes itself (its Server.Refused,
// third_party/go-smtp): RCPT before MAIL, syntax errors, unknown commands
// and parameters. They reach no session method, so without this a client
// could repeat them without end.
func (s *Server) refused(c *smtp.Conn, service string, reply *smtp.SMTPError) *smtp.SMTPError {
	if reply != nil {
		countRejection(service, reply)
	}
	if s.tooManyErrors(c, service) {
		return errTooManyErrs
	}
	return reply
}

// tooManyErrors counts a refused command on c and reports whether that
// reached max_errors; the connection is then closed after the reply,
// which must be errTooManyErrs. The count is the connection's: go-smtp
// refuses commands before any session exists (before HELO) and starts a
// new session at STARTTLS.
func (s *Server) tooManyErrors(c *smtp.Conn, service string) bool {
	tc := tracked(c.Conn())
	if tc == nil || s.Config.MaxErrors <= 0 {
		return false
	}
	n := tc.errors.Add(1)
	if n < int64(s.Config.MaxErrors) {
		return false
	}
	tc.closeAfterWrite.Store(true)
	s.Log.Warn("too many errors, disconnecting", "service", service, "client", remoteIP(c.Conn()), "errors", n)
	return true
}

func (s *session) closeAfterReply() {
	if s.conn == nil {
		return
	}
	if tc := tracked(s.conn.Conn()); tc != nil {
		tc.closeAfterWrite.Store(true)
	}
}

// checkLocalRecipient refuses an address in one of our domains that no
// account or alias holds. It reports whether the domain is ours.
func checkLocalRecipient(dir Directory, addr string) (bool, error) {
	ctx := context.Background()
	ours, err := dir.HasDomain(ctx, address.Domain(addr))
	if err != nil {
		return false, errTempLocal
	}
	if !ours {
		return false, nil
	}
	if _, err := dir.Resolve(ctx, addr); errors.Is(err, store.ErrNotFound) {
		return true, errNoSuchUser
	} else if err != nil {
		return true, errTempLocal
	}
	return true, nil
}

var (
	// RFC 5321 §4.5.3.2.6: the client stopped sending within DATA.
	errDataTimeout = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Timeout while receiving the message"}
	// RFC 5322 §2.1.1 / RFC 5321 §4.5.3.1.6: a line over our limit.
	errLineTooLong = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message has a line longer than the limit"}
)

// dataError turns a failed DATA read into an RFC reply: go-smtp would send
// "554 5.0.0" with the Go error text, addresses and all.
func dataError(err error) error {
	var se *smtp.SMTPError
	var ne net.Error
	switch {
	case errors.As(err, &se): // ErrDataTooLarge: 552 5.3.4
		return err
	case errors.Is(err, smtp.ErrTooLongLine):
		return errLineTooLong
	case errors.As(err, &ne) && ne.Timeout():
		return errDataTimeout
	}
	return errTempLocal
}

// readMessage reads DATA within the data timeout and normalizes its line
// ends before anything looks at it (see message.NormalizeDATA).
func (s *session) readMessage(r io.Reader) ([]byte, mail.Header, error) {
	if s.conn != nil {
		s.conn.Conn().SetReadDeadline(time.Now().Add(s.srv.Config.DataTimeout))
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, mail.Header{}, dataError(err)
	}
	// BDAT chunks (RFC 3030) are not dot-stuffed, so only DATA text is
	// unstuffed after bare line ends; go-smtp hands BDAT over as a pipe.
	// A message submitted without SMTP (Submit) was never dot-stuffed.
	var body []byte
	if _, bdat := r.(*io.PipeReader); bdat || s.conn == nil {
		body = message.NormalizeCRLF(raw)
	} else {
		body = message.NormalizeDATA(raw)
	}
	h, err := message.Header(body)
	if err != nil {
		return nil, mail.Header{}, errBadHeader
	}
	return body, h, nil
}

// spool prepends the given fields and puts the message in the spool; the
// reply is 250 only once the spool has it on stable storage.
func (s *session) spool(env *spool.Envelope, body []byte, fields []string) *smtp.SMTPError {
	body = message.Prepend(body, fields...)
	if err := s.srv.Spool.Put(env, body); err != nil {
		s.log.Error("spool write failed", "err", err)
		return errTempLocal
	}
	s.log.Info("queued", "id", env.ID, "from", env.From, "rcpts", len(env.To), "size", env.Size)
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "OK queued as " + env.ID}
}

func (s *session) newEnvelope(auth string) *spool.Envelope {
	return &spool.Envelope{
		ID: spool.NewID(), From: s.from, To: append([]string(nil), s.rcpts...), Received: time.Now(),
		Origin: s.service, Auth: auth, Client: s.client,
	}
}

// trace builds the Received field (RFC 5321 §4.4) with the TLS parameters
// (RFC 8314 §4.3).
func (s *session) trace(env *spool.Envelope, with, rdns string) string {
	t := message.Trace{
		Helo: s.helo(), RDNS: rdns, IP: env.Client, By: s.srv.Config.Hostname,
		With: with, ID: env.ID, Auth: env.Auth, At: env.Received,
	}
	if st, ok := s.tlsState(); ok {
		t.TLS = message.TLSClause(st)
	}
	if len(env.To) == 1 {
		t.For = env.To[0]
	}
	return message.Received(t)
}

// checkRecipientLimit refuses a recipient over max_recipients; the refusal
// counts toward max_errors like any other.
func (s *session) checkRecipientLimit() error {
	if max := s.srv.Config.MaxRecipients; max > 0 && s.rcptsTaken >= max {
		return s.reject(errTooManyRcpts(max))
	}
	return nil
}

// Reset ends the mail transaction. go-smtp also calls it for an EHLO or
// HELO later in the session (RFC 5321 §4.1.4), and then answers 250 with
// the new name whatever it is: a name with control characters gets our
// 501 first and the connection is closed, so that 250 never goes out.
func (s *session) Reset() {
	s.from, s.hasFrom, s.rcpts, s.rcptsTaken = "", false, nil, 0
	if s.conn != nil && hasControlChar(s.conn.Hostname()) {
		s.log.Warn("control character in a command argument, disconnecting")
		s.closeAfterReply()
		c := s.conn.Conn()
		c.SetWriteDeadline(time.Now().Add(s.srv.Config.CommandTimeout))
		fmt.Fprintf(c, "%d %d.%d.%d %s\r\n", errControlChar.Code, errControlChar.EnhancedCode[0],
			errControlChar.EnhancedCode[1], errControlChar.EnhancedCode[2], errControlChar.Message)
	}
}

// Logout ends the session: at STARTTLS (go-smtp starts a new one) or just
// before go-smtp closes the connection. In the second case a client may
// still be sending (a command line over the length limit, which go-smtp
// answers with 500 and a close): lingerBeforeClose lets it finish and read
// that reply.
func (s *session) Logout() error {
	if _, isTLS := s.conn.TLSConnectionState(); isTLS && !s.tlsAtStart {
		return nil
	}
	lingerBeforeClose(s.conn.Conn())
	return nil
}

// takeRepeatedRcpt reports whether the open transaction already has rcpt
// (as normalized), and then counts this RCPT as taken. A recipient given twice gets its 250 again but one copy,
// one quota charge and one send-limit reservation, not one per RCPT, as
// Postfix's cleanup drops duplicate recipients (RFC 5321 §4.1.1.3 leaves
// the server free to). The RCPT still counts toward max_recipients, so
// repeating one address cannot make a transaction without end.
func (s *session) takeRepeatedRcpt(rcpt string) bool {
	if !slices.Contains(s.rcpts, rcpt) {
		return false
	}
	s.rcptsTaken++
	return true
}

// addRcpt takes an accepted recipient into the transaction.
func (s *session) addRcpt(rcpt string) {
	s.rcpts = append(s.rcpts, rcpt)
	s.rcptsTaken++
}
