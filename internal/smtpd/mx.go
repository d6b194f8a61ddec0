package smtpd

import (
	"context"
	"io"
	"net/netip"
	"time"

	"github.com/emersion/go-smtp"

	"mailgate/internal/address"
	"mailgate/internal/dns"
	"mailgate/internal/verdict"
)

var (
	// RFC 5321 §3.6.2 / RFC 2505 §2: we relay for nobody on port 25.
	errRelayDenied = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Relay access denied"}
	// A recipient we cannot even parse, or one using routing syntax
	// (RFC 2505 §2.1: '%', '!', quoted '@'), is never ours.
	errMXBadRecipient = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "Recipient address not accepted here"}
	// Talking before the greeting, or pipelining before the EHLO reply,
	// is what spam bots do (Postfix: postscreen pregreet test,
	// smtpd_forbid_unauth_pipelining).
	errPipelining = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 5, 0}, Message: "Protocol error: command sent before the server's reply"}
)

// mxSession is one peer MTA on port 25, delivering to our domains.
// No AUTH here: a session type without AuthMechanisms makes go-smtp
// advertise none. Our own subscribers get an ownNetSession instead.
type mxSession struct {
	session
	// judged is closed once rdns and refusal are known: the client's
	// verified reverse DNS name (or "") and the client stages' verdict.
	judged  chan struct{}
	rdns    string
	refusal *verdict.Reply
	// size is the transaction's MAIL FROM SIZE= (RFC 1870), 0 if none.
	size int64
}

func (s *Server) newMXSession(c *smtp.Conn) (smtp.Session, error) {
	if err := checkHelo(c); err != nil {
		return nil, err
	}
	ms := &mxSession{session: newSession(s, c, "mx"), judged: make(chan struct{})}
	// Only the EHLO/HELO line may have arrived when we answer it: more
	// means the client did not wait for our reply (RFC 2920 §3.1: EHLO
	// ends a pipelined group; RFC 5321 §4.3.1: wait for the greeting).
	// Under TLS the byte counts mean nothing and are not checked.
	if err := ms.checkPipelining(true); err != nil {
		return nil, err
	}
	// What the address alone decides was judged before the greeting
	// (judgeConnect). The rest (our own pools, rDNS; the lists again,
	// from the cache) is judged while the client goes on talking and
	// applied at MAIL, as Postfix's smtpd_delay_reject does, so that the
	// refusal is logged with a sender.
	go func() {
		defer close(ms.judged)
		ms.rdns = s.lookupRDNS(ms.client)
		ms.refusal = s.MXChecks.CheckClient(context.Background(), ms.clientInfo(ms.rdns))
	}()
	if pool, ok := s.ownPool(c); ok {
		return s.newOwnNetSession(c, ms, pool), nil
	}
	return ms, nil
}

// waitJudged waits for the client's verdict, at most a few seconds: a slow
// DNS answer must not hold the session (the checks then count as passed).
func (ms *mxSession) waitJudged() (rdns string, refusal *verdict.Reply) {
	select {
	case <-ms.judged:
		return ms.rdns, ms.refusal
	case <-time.After(5 * time.Second):
		return "", nil
	}
}

// checkPipelining refuses, and disconnects, a plaintext client that sent
// commands before our reply to the previous one: at EHLO/HELO always
// (RFC 5321 §4.3.1, RFC 2920 §3.1: EHLO ends a pipelined group), later
// only from a HELO client, which was never offered PIPELINING.
func (ms *mxSession) checkPipelining(atGreeting bool) error {
	if _, isTLS := ms.conn.TLSConnectionState(); isTLS {
		return nil
	}
	tc := tracked(ms.conn.Conn())
	if tc == nil || (!atGreeting && !tc.saidHELO()) || tc.unrepliedLines() <= 0 {
		return nil
	}
	ms.log.Warn("unauthorized pipelining", "helo", ms.conn.Hostname())
	tc.closeAfterWrite.Store(true)
	return errPipelining
}

// Mail accepts any syntactically valid return path, the null one included
// (RFC 5321 §4.5.5, RFC 2505 §2 item 6a: MUST NOT refuse MAIL FROM:<>).
func (ms *mxSession) Mail(from string, opts *smtp.MailOptions) error {
	if err := ms.checkPipelining(false); err != nil {
		return err
	}
	if err := ms.checkArgs(mailArgs(from, opts)...); err != nil {
		return err
	}
	if ms.hasFrom {
		return errNestedMail
	}
	if _, refusal := ms.waitJudged(); refusal != nil {
		return ms.reject(smtpReply(refusal))
	}
	ms.from, ms.hasFrom = from, true
	ms.size = 0
	if opts != nil {
		ms.size = opts.Size
	}
	return nil
}

// Rcpt accepts only existing recipients in our domains, and bounces to
// the SRS addresses of mail we forwarded (srs.go).
func (ms *mxSession) Rcpt(to string, opts *smtp.RcptOptions) error {
	if err := ms.checkPipelining(false); err != nil {
		return err
	}
	if err := ms.checkArgs(rcptArgs(to, opts)...); err != nil {
		return err
	}
	if err := ms.checkRecipientLimit(); err != nil {
		return err
	}
	if orig, ok, err := ms.srsRecipient(to); ok {
		if err != nil {
			return ms.reject(err)
		}
		if ms.takeRepeatedRcpt(orig) {
			return nil
		}
		if r := ms.srv.SRSBounces.Take(context.Background(), ms.client, orig); r != nil {
			return ms.reject(smtpReply(r))
		}
		ms.log.Info("SRS bounce accepted", "rcpt", to, "to", orig)
		ms.addRcpt(orig)
		return nil
	}
	norm, err := address.Normalize(to)
	if err != nil {
		ms.log.Info("recipient refused", "rcpt", to, "err", err)
		return ms.reject(errMXBadRecipient)
	}
	ours, err := checkLocalRecipient(ms.srv.Dir, norm)
	if err != nil {
		return ms.reject(err)
	}
	if !ours {
		ms.log.Warn("relay denied", "rcpt", norm)
		return ms.reject(errRelayDenied)
	}
	if ms.takeRepeatedRcpt(norm) {
		return nil
	}
	if ms.srv.Quota != nil {
		// RFC 3463 X.2.2 for this recipient only; the others of the
		// transaction are not affected (RFC 5321 §3.3). Not the
		// client's error: not counted against it.
		if r := ms.srv.Quota.RcptFull(context.Background(), norm, ms.size); r != nil {
			return smtpReply(r)
		}
	}
	ms.addRcpt(norm)
	return nil
}

// Data spools the message with a Received field naming the client's HELO,
// verified rDNS and IP (RFC 5321 §4.4, RFC 2505 §2.2).
func (ms *mxSession) Data(r io.Reader) (err error) {
	defer ms.countMessage(&err)
	body, _, err := ms.readMessage(r)
	if err != nil {
		return err
	}
	with := "ESMTP"
	if _, ok := ms.conn.TLSConnectionState(); ok {
		with = "ESMTPS"
	}
	rdns, _ := ms.waitJudged()
	env := ms.newEnvelope("")
	v := ms.srv.MXChecks.CheckMessage(context.Background(), ms.clientInfo(rdns), ms.verdictMessage(env, body))
	if v.Reply != nil {
		return smtpReply(v.Reply)
	}
	env.Junk, env.Unverified = v.Junk, v.Unverified
	return ms.store(env, v.Body, append([]string{ms.trace(env, with, rdns)}, v.Fields...))
}

// lookupRDNS returns the client's forward-confirmed reverse DNS name, or
// "" (Postfix's "unknown"), by dns.ReverseName: the rule and the resolver
// the reputation checks use, so the Received field and their verdict
// agree. A temporary failure gives "" too: the name is not verified.
func (s *Server) lookupRDNS(client string) string {
	ip, err := netip.ParseAddr(client)
	if err != nil {
		return ""
	}
	r := s.Resolver
	if r == nil {
		r = dns.Shared(nil, 0)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, name, _ := dns.ReverseName(ctx, r, ip.Unmap())
	return name
}
