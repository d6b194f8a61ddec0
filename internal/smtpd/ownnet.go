package smtpd

import (
	"io"
	"net/netip"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// OwnNetwork tells the MX which clients are our own subscribers (issue 11
// §4): their lines may reach only our relays on port 25 (OP25B), so the MX
// is where "sending from our line through our mail server" happens.
type OwnNetwork interface {
	// Pool names the subscriber pool holding ip, if any.
	Pool(ip netip.Addr) (string, bool)
}

// ownNetSession is an MX session with one of our subscribers. It is an MX
// session (mail for our users from anyone), and it offers AUTH after
// STARTTLS; once authenticated, its transactions are a submission
// session's, with every submission rule (sender ownership, send limits,
// scanning) and none of the MX's client checks, which judge strangers.
type ownNetSession struct {
	*mxSession
	sub  *submissionSession
	pool string
	// submitting is set while a transaction runs on sub.
	submitting bool
}

func (s *Server) newOwnNetSession(c *smtp.Conn, mx *mxSession, pool string) smtp.Session {
	sub := &submissionSession{session: newSession(s, c, "mx-submission")}
	sub.log = sub.log.With("pool", pool)
	return &ownNetSession{mxSession: mx, sub: sub, pool: pool}
}

// ownPool reports the pool of the client of c if the MX offers it AUTH.
func (s *Server) ownPool(c *smtp.Conn) (string, bool) {
	if s.OwnNetwork == nil {
		return "", false
	}
	ip, err := netip.ParseAddr(remoteIP(c.Conn()))
	if err != nil {
		return "", false
	}
	return s.OwnNetwork.Pool(ip.Unmap())
}

// AuthMechanisms is asked only on a TLS connection (go-smtp's
// AllowInsecureAuth is false): RFC 4954 §4, no plaintext passwords.
func (o *ownNetSession) AuthMechanisms() []string { return o.sub.AuthMechanisms() }

// Auth is submission's, throttling included.
func (o *ownNetSession) Auth(mech string) (sasl.Server, error) {
	if o.hasFrom {
		return nil, errAuthInTransaction
	}
	return o.sub.Auth(mech)
}

// Mail starts a submission transaction once authenticated, else an MX one.
func (o *ownNetSession) Mail(from string, opts *smtp.MailOptions) error {
	if o.sub.account == nil {
		return o.mxSession.Mail(from, opts)
	}
	if err := o.sub.Mail(from, opts); err != nil {
		return err
	}
	o.submitting = true
	return nil
}

func (o *ownNetSession) Rcpt(to string, opts *smtp.RcptOptions) error {
	if o.submitting {
		return o.sub.Rcpt(to, opts)
	}
	return o.mxSession.Rcpt(to, opts)
}

func (o *ownNetSession) Data(r io.Reader) error {
	if o.submitting {
		return o.sub.Data(r)
	}
	return o.mxSession.Data(r)
}

func (o *ownNetSession) Reset() {
	o.submitting = false
	o.sub.Reset()
	o.mxSession.Reset()
}

func (o *ownNetSession) Logout() error {
	o.sub.Reset()
	return o.mxSession.Logout()
}
