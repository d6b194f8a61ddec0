package smtpd

import (
	"context"
	"io"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailgate/internal/address"
	"mailgate/internal/message"
	"mailgate/internal/netlimit"
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
	// RFC 5321 §4.1.4: MAIL inside an open transaction is a bad sequence
	// (go-smtp would let it replace the sender and keep the recipients).
	errNestedMail = &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "Nested MAIL command: RSET or finish the current transaction first"}
)

// submissionSession is one client on 587 or 465.
type submissionSession struct {
	session
	account      *store.Account // set by a successful AUTH
	relay        *ownRelay      // set for an own-network relay (own_network_relay = "ip")
	authFailures int
	// reserved are this transaction's send-limit reservations, given
	// back unless the message is accepted.
	reserved []int64
	// queued is the queue ID of the last message accepted (for Submit).
	queued string
}

func (s *Server) newSubmissionSession(c *smtp.Conn, service string) (smtp.Session, error) {
	if err := checkHelo(c); err != nil {
		return nil, err
	}
	return &submissionSession{session: newSession(s, c, service)}, nil
}

// AuthMechanisms is asked only on a TLS connection: go-smtp hides AUTH
// before TLS (AllowInsecureAuth is false).
func (ss *submissionSession) AuthMechanisms() []string {
	return []string{sasl.Plain, sasl.Login}
}

// Auth starts one SASL exchange.
func (ss *submissionSession) Auth(mech string) (sasl.Server, error) {
	if err := ss.checkArgs(mech); err != nil {
		return nil, err
	}
	if ss.hasFrom {
		return nil, errAuthInTransaction
	}
	check := func(identity, user, pw string) error {
		// RFC 4616 §2: an authorization identity other than the user's
		// own would let one account act as another: refused.
		if identity != "" && !strings.EqualFold(identity, user) {
			return ss.authFailed(user)
		}
		acct, err := checkPassword(context.Background(), ss.srv.Dir, ss.conn.Conn().RemoteAddr(), user, pw)
		if err == errAuthTemp || err == errAuthBlocked {
			return err
		}
		if err != nil {
			return ss.authFailed(user)
		}
		ss.account = acct
		netlimit.LoggedIn(ss.conn.Conn())
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
		ss.closeAfterReply()
		return errAuthTooMany
	}
	// The delays and blocks are login throttling's (package login).
	return errAuthFailed
}

// Mail checks the return path against the authenticated account.
func (ss *submissionSession) Mail(from string, opts *smtp.MailOptions) error {
	if err := ss.checkArgs(mailArgs(from, opts)...); err != nil {
		return err
	}
	if ss.account == nil && ss.relay == nil {
		return ss.reject(errAuthRequired)
	}
	if ss.hasFrom {
		return errNestedMail
	}
	if ss.relay != nil {
		return ss.relayMail(from)
	}
	// Status is read again: a suspension takes effect on the next message,
	// not the next login.
	acct, err := ss.srv.Dir.Account(context.Background(), ss.account.Address)
	if err != nil {
		return errTempLocal
	}
	if acct.Status != store.StatusActive {
		ss.log.Warn("submission refused", "status", acct.Status)
		return ss.reject(errSendDisabled)
	}
	// RFC 6409 §3.2: MAIL FROM:<> is permitted.
	if from != "" {
		norm, err := address.Normalize(from)
		if err != nil {
			return ss.reject(errBadSender)
		}
		owned, err := ss.srv.Dir.Owns(context.Background(), acct.Address, norm)
		if err != nil {
			return errTempLocal
		}
		if !owned {
			ss.log.Warn("sender not owned", "from", norm)
			return ss.reject(errSenderNotOwned)
		}
		from = norm
	}
	ss.from, ss.hasFrom = from, true
	return nil
}

// Rcpt accepts any well-formed recipient from an authenticated user, except
// unknown users in our own domains, which are refused now rather than
// bounced later.
func (ss *submissionSession) Rcpt(to string, opts *smtp.RcptOptions) error {
	if err := ss.checkArgs(rcptArgs(to, opts)...); err != nil {
		return err
	}
	if err := ss.checkRecipientLimit(); err != nil {
		return err
	}
	norm, err := address.Normalize(to)
	if err != nil {
		return ss.reject(errBadRecipient)
	}
	ours, err := checkLocalRecipient(ss.srv.Dir, norm)
	if err != nil {
		return ss.reject(err)
	}
	if ss.takeRepeatedRcpt(norm) {
		return nil
	}
	// Daily send limits count what leaves for other domains.
	if !ours {
		id, refusal := ss.srv.SendLimits.Reserve(context.Background(), ss.sender(), len(ss.reserved) == 0)
		if refusal != nil {
			return ss.reject(smtpReply(refusal))
		}
		ss.reserved = append(ss.reserved, id)
	}
	ss.addRcpt(norm)
	return nil
}

// Reset ends the transaction; reservations of a message not accepted are
// given back (an accepted one's were kept by Data).
func (ss *submissionSession) Reset() {
	ss.srv.SendLimits.Release(ss.reserved)
	ss.reserved = nil
	ss.session.Reset()
}

// Logout gives back an unfinished transaction's reservations, then ends
// the session as every session does (session.Logout).
func (ss *submissionSession) Logout() error {
	ss.Reset()
	return ss.session.Logout()
}

// Data checks the From: header, adds the RFC 6409 §8 fix-ups and a
// Received field with ESMTPSA and the authenticated identity (RFC 4954 §7,
// RFC 3848), and spools the message.
func (ss *submissionSession) Data(r io.Reader) (err error) {
	defer ss.countMessage(&err)
	body, h, err := ss.readMessage(r)
	if err != nil {
		return err
	}
	froms, err := message.FromAddresses(h)
	if err != nil {
		return errBadHeader
	}
	for _, f := range froms {
		owned, err := ss.mayUse(f)
		if err != nil {
			return errTempLocal
		}
		if !owned {
			ss.log.Warn("header From not owned", "from", f)
			if ss.relay != nil {
				return errFromNotOurs
			}
			return errFromNotOwned
		}
	}
	auth, with := "", "ESMTP"
	switch {
	case ss.direct != nil:
		auth, with = ss.account.Address, ss.direct.with()
	case ss.account != nil:
		auth, with = ss.account.Address, "ESMTPSA"
	default:
		if _, ok := ss.tlsState(); ok {
			with = "ESMTPS"
		}
	}
	env := ss.newEnvelope(auth)
	client := ss.clientInfo("")
	client.Account = auth
	v := ss.srv.SubmissionChecks.CheckMessage(context.Background(), client, ss.verdictMessage(env, body))
	if v.Reply != nil {
		ss.watch(false, v.Notes)
		return smtpReply(v.Reply)
	}
	fields := append([]string{ss.trace(env, with, "")}, v.Fields...)
	fields = append(fields, message.FixUps(h, ss.srv.Config.Hostname, env.Received)...)
	reply := ss.store(env, v.Body, fields)
	if reply.Code == 250 {
		ss.watch(true, v.Notes)
		ss.reserved = nil // sent: the reservations count
		ss.queued = env.ID
	}
	return reply
}

// watch tells the compromised-account response of this message; each
// remote recipient holds one send-limit reservation.
func (ss *submissionSession) watch(accepted bool, notes map[string]any) {
	if ss.srv.Watch != nil && ss.account != nil {
		ss.srv.Watch.Submitted(ss.account.Address, len(ss.reserved), accepted, notes)
	}
}
