package smtpd

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailgate/internal/address"
	"mailgate/internal/message"
	"mailgate/internal/spool"
	"mailgate/internal/store"
)

// Replies of the submission service, with the rule each comes from.
var (
	// RFC 6409 §4.3 and RFC 4954 §6: MAIL before AUTH.
	errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	// RFC 6409 §6.1: a sender the account does not own.
	errSenderNotOwned = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Sender address not owned by the authenticated account"}
	errFromNotOwned   = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "From: header address not owned by the authenticated account"}
	errSendDisabled   = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Sending is disabled for this account; contact support"}
	// RFC 6409 §5.1: bad envelope syntax is a 501.
	errBadSender    = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 7}, Message: "Bad sender address syntax"}
	errBadRecipient = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "Bad recipient address syntax"}
	errNoSuchUser   = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	// RFC 6409 §6.3: a message whose header is not acceptable.
	errBadHeader = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message header malformed or without From:"}
	errTempLocal = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Local error, try again later"}
)

// submissionSession is one client on 587 or 465.
type submissionSession struct {
	srv     *Server
	conn    *smtp.Conn
	service string
	log     *slog.Logger

	account      *store.Account // set by a successful AUTH
	authFailures int
	from         string
	hasFrom      bool
	rcpts        []string
}

func (s *Server) newSubmissionSession(c *smtp.Conn, service string) *submissionSession {
	return &submissionSession{
		srv: s, conn: c, service: service,
		log: s.Log.With("service", service, "client", remoteIP(c.Conn())),
	}
}

func remoteIP(c net.Conn) string {
	host, _, err := net.SplitHostPort(c.RemoteAddr().String())
	if err != nil {
		return c.RemoteAddr().String()
	}
	return host
}

// AuthMechanisms is asked only on a TLS connection: go-smtp hides AUTH
// before TLS (AllowInsecureAuth is false).
func (ss *submissionSession) AuthMechanisms() []string {
	return []string{sasl.Plain, sasl.Login}
}

// Auth starts one SASL exchange.
func (ss *submissionSession) Auth(mech string) (sasl.Server, error) {
	if ss.hasFrom {
		return nil, errAuthInTransaction
	}
	check := func(identity, user, pw string) error {
		// RFC 4616 §2: an authorization identity other than the user's
		// own would let one account act as another: refused.
		if identity != "" && !strings.EqualFold(identity, user) {
			return ss.authFailed(user)
		}
		acct, err := checkPassword(context.Background(), ss.srv.Dir, user, pw)
		if err != nil {
			if err == errAuthTemp {
				return err
			}
			return ss.authFailed(user)
		}
		ss.account = acct
		ss.log = ss.log.With("account", acct.Address)
		ss.log.Info("authenticated", "mech", mech)
		return nil
	}
	switch strings.ToUpper(mech) {
	case sasl.Plain:
		return syntaxMapped{sasl.NewPlainServer(check)}, nil
	case sasl.Login:
		return syntaxMapped{&loginServer{authenticate: check}}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

// authFailed counts a failure. RFC 4954 §9: the connection may be dropped
// after several failures, never before 3.
func (ss *submissionSession) authFailed(user string) error {
	ss.authFailures++
	ss.log.Warn("authentication failed", "user", user, "failures", ss.authFailures)
	if ss.authFailures >= ss.srv.Config.MaxAuthFailures {
		if tc := tracked(ss.conn.Conn()); tc != nil {
			tc.closeAfterWrite.Store(true)
		}
		return errAuthTooMany
	}
	// A short pause slows password guessing without holding a worker.
	time.Sleep(time.Duration(ss.authFailures) * 200 * time.Millisecond)
	return errAuthFailed
}

// Mail checks the return path against the authenticated account.
func (ss *submissionSession) Mail(from string, _ *smtp.MailOptions) error {
	if ss.account == nil {
		return errAuthRequired
	}
	// Status is read again: a suspension takes effect on the next message,
	// not the next login.
	acct, err := ss.srv.Dir.Account(context.Background(), ss.account.Address)
	if err != nil {
		return errTempLocal
	}
	if acct.Status != store.StatusActive {
		ss.log.Warn("submission refused", "status", acct.Status)
		return errSendDisabled
	}
	// RFC 6409 §3.2: MAIL FROM:<> is permitted.
	if from != "" {
		norm, err := address.Normalize(from)
		if err != nil {
			return errBadSender
		}
		owned, err := ss.srv.Dir.Owns(context.Background(), acct.Address, norm)
		if err != nil {
			return errTempLocal
		}
		if !owned {
			ss.log.Warn("sender not owned", "from", norm)
			return errSenderNotOwned
		}
		from = norm
	}
	ss.from, ss.hasFrom = from, true
	return nil
}

// Rcpt accepts any well-formed recipient from an authenticated user, except
// unknown users in our own domains, which are refused now rather than
// bounced later.
func (ss *submissionSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	norm, err := address.Normalize(to)
	if err != nil {
		return errBadRecipient
	}
	if err := checkLocalRecipient(ss.srv.Dir, norm); err != nil {
		return err
	}
	ss.rcpts = append(ss.rcpts, norm)
	return nil
}

// checkLocalRecipient refuses an address in one of our domains that no
// account or alias holds.
func checkLocalRecipient(dir Directory, addr string) error {
	ctx := context.Background()
	ours, err := dir.HasDomain(ctx, address.Domain(addr))
	if err != nil {
		return errTempLocal
	}
	if !ours {
		return nil
	}
	if _, err := dir.Resolve(ctx, addr); errors.Is(err, store.ErrNotFound) {
		return errNoSuchUser
	} else if err != nil {
		return errTempLocal
	}
	return nil
}

// Data reads the message, checks its From: header, adds the RFC 6409 §8
// fix-ups and a Received field, and spools it. 250 comes only after the
// spool has it on stable storage.
func (ss *submissionSession) Data(r io.Reader) error {
	ss.conn.Conn().SetReadDeadline(time.Now().Add(ss.srv.Config.DataTimeout))
	raw, err := io.ReadAll(r)
	if err != nil {
		return err // ErrDataTooLarge (552 5.3.4) or a broken connection
	}
	body := message.NormalizeCRLF(raw)
	h, err := message.Header(body)
	if err != nil {
		return errBadHeader
	}
	froms, err := message.FromAddresses(h)
	if err != nil {
		return errBadHeader
	}
	for _, f := range froms {
		owned, err := ss.srv.Dir.Owns(context.Background(), ss.account.Address, f)
		if err != nil {
			return errTempLocal
		}
		if !owned {
			ss.log.Warn("header From not owned", "from", f)
			return errFromNotOwned
		}
	}
	env := &spool.Envelope{
		ID: spool.NewID(), From: ss.from, To: ss.rcpts, Received: time.Now(),
		Origin: ss.service, Auth: ss.account.Address, Client: remoteIP(ss.conn.Conn()),
	}
	fields := []string{ss.received(env)}
	fields = append(fields, message.FixUps(h, ss.srv.Config.Hostname, env.Received)...)
	body = message.Prepend(body, fields...)
	if err := ss.srv.Spool.Put(env, body); err != nil {
		ss.log.Error("spool write failed", "err", err)
		return errTempLocal
	}
	ss.log.Info("queued", "id", env.ID, "from", env.From, "rcpts", len(env.To), "size", env.Size)
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "OK queued as " + env.ID}
}

// received builds the trace field (RFC 5321 §4.4) with ESMTPSA and the
// authenticated identity (RFC 4954 §7, RFC 3848) and the TLS parameters
// (RFC 8314 §4.3).
func (ss *submissionSession) received(env *spool.Envelope) string {
	tlsInfo := ""
	if st, ok := ss.conn.TLSConnectionState(); ok {
		tlsInfo = message.TLSClause(st)
	}
	rcpt := ""
	if len(env.To) == 1 {
		rcpt = env.To[0]
	}
	return message.Received(message.Trace{
		Helo: ss.conn.Hostname(), IP: env.Client, By: ss.srv.Config.Hostname,
		With: "ESMTPSA", ID: env.ID, TLS: tlsInfo, Auth: env.Auth, For: rcpt, At: env.Received,
	})
}

// Reset ends the mail transaction; the authentication stays.
func (ss *submissionSession) Reset() {
	ss.from, ss.hasFrom, ss.rcpts = "", false, nil
}

// Logout ends the session.
func (ss *submissionSession) Logout() error { return nil }
