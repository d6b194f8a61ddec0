package smtpd

import (
	"context"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailgate/internal/address"
	"mailgate/internal/store"
)

var (
	// RFC 6409 §6.1 for a relay without AUTH: the sender must be ours.
	errSenderNotOurs = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Sender address not in our domains: authenticate (AUTH) to send as another"}
	errFromNotOurs   = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "From: header address not in our domains: authenticate (AUTH) to send as another"}
)

// OwnNetwork tells the MX which clients are our own subscribers (issue 11
// §4): their lines may reach only our relays on port 25 (OP25B), so the MX
// is where "sending from our line through our mail server" happens.
type OwnNetwork interface {
	// Pool names the subscriber pool holding ip, if any.
	Pool(ip netip.Addr) (string, bool)
}

// Subscribers names who held an address (RADIUS accounting).
type Subscribers interface {
	SubscriberAt(ctx context.Context, ip netip.Addr, at time.Time) (*store.SubscriberSession, error)
}

// ownRelay is the identity of an unauthenticated relay from our pools
// (own_network_relay = "ip"): the client's address, counted against the
// daily send limits as an account is, and the subscriber who held it.
type ownRelay struct {
	key        string // "ip:" and the address: the send limits' account
	subscriber string // RADIUS User-Name, "" if unknown
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
	if o.sub.account == nil && !o.relays(from) {
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

// relays reports whether an unauthenticated transaction from MAIL FROM
// from is an own-network relay: own_network_relay = "ip" and a sender in
// our domains (old equipment that cannot authenticate). Anything else is
// an MX transaction, judged as any stranger's (the own-pool refusal of
// the reputation checks included).
func (o *ownNetSession) relays(from string) bool {
	if !o.srv.OwnNetworkIP || from == "" {
		return false
	}
	norm, err := address.Normalize(from)
	if err != nil {
		return false
	}
	ours, err := o.srv.Dir.HasDomain(context.Background(), address.Domain(norm))
	if err != nil || !ours {
		return false
	}
	if o.sub.relay == nil {
		o.sub.relay = o.srv.identifyRelay(o.sub.client)
		o.sub.log = o.sub.log.With("relay", o.sub.relay.key, "subscriber", o.sub.relay.subscriber)
	}
	return true
}

// identifyRelay names the subscriber behind ip now, through RADIUS
// accounting, for the log (issue 11 §5).
func (s *Server) identifyRelay(ip string) *ownRelay {
	r := &ownRelay{key: "ip:" + ip}
	a, err := netip.ParseAddr(ip)
	if s.Subscribers == nil || err != nil {
		return r
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if ss, err := s.Subscribers.SubscriberAt(ctx, a, time.Now()); err == nil && ss != nil {
		r.subscriber = ss.Username
	}
	return r
}

// relayMail accepts an own-network relay's sender: one of our domains.
func (ss *submissionSession) relayMail(from string) error {
	norm, err := address.Normalize(from)
	if err != nil {
		return ss.reject(errBadSender)
	}
	ok, err := ss.mayUse(norm)
	if err != nil {
		return errTempLocal
	}
	if !ok {
		return ss.reject(errSenderNotOurs)
	}
	ss.from, ss.hasFrom = norm, true
	return nil
}

// sender is who the transaction counts against: the account, or the
// relaying address.
func (ss *submissionSession) sender() string {
	if ss.account != nil {
		return ss.account.Address
	}
	return ss.relay.key
}

// mayUse reports whether addr may be the sender (envelope or From:): an
// address the account owns (RFC 6409 §6.1), or for an own-network relay
// any address in our domains.
func (ss *submissionSession) mayUse(addr string) (bool, error) {
	if ss.account != nil {
		return ss.srv.Dir.Owns(context.Background(), ss.account.Address, addr)
	}
	return ss.srv.Dir.HasDomain(context.Background(), strings.ToLower(address.Domain(addr)))
}
