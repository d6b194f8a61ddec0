package delivery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailgate/internal/dane"
	"mailgate/internal/dns"
	"mailgate/internal/mtasts"
	"mailgate/internal/spool"
)

// busyText marks a recipient not tried because its destination had no
// free connection slot; that is not a delivery attempt.
const busyText = "451 4.4.5 waiting for a free connection to the destination"

// slotWait is how long a delivery waits for a connection slot.
const slotWait = 250 * time.Millisecond

// Outcome is what one delivery attempt did for one recipient.
type Outcome struct {
	Status string // spool.Delivered, spool.Pending or spool.Failed
	Text   string // the reply or failure, "550 5.1.1 ..."
	Remote string // the host that answered, "mx.example[192.0.2.1]:25"
}

// Remote delivers to other domains' MX hosts (or a smarthost) over SMTP.
// It never sends AUTH to an MX: credentials go only to the smarthost.
type Remote struct {
	DNS      dns.Resolver
	STS      *mtasts.Fetcher // nil: MTA-STS off
	Hostname string          // our EHLO name
	// Port of remote MX hosts: 25 (tests change it).
	Port           int
	ConnectTimeout time.Duration
	CommandTimeout time.Duration
	// TLSRequired holds domains (lower case) that must get STARTTLS.
	TLSRequired map[string]bool
	// Roots verifies certificates where verification is due; nil: system.
	Roots *x509.CertPool
	// Smarthost, host:port, replaces MX routing when set.
	Smarthost         string
	SmarthostUser     string
	SmarthostPassword string
	// SmarthostImplicitTLS: TLS from the first byte (RFC 8314, port 465).
	SmarthostImplicitTLS bool
	// DANE applies RFC 7672 to MX hosts when DNS is a dns.Validating.
	DANE           bool
	PerDestination int
	Log            *slog.Logger

	pool pool
}

// Close ends idle connections.
func (r *Remote) Close() { r.pool.closeAll() }

// route decides hops and TLS mode for a domain.
func (r *Remote) route(ctx context.Context, domain string) (string, []hop, tlsMode, *routeError) {
	if r.Smarthost != "" {
		host, p, _ := net.SplitHostPort(r.Smarthost)
		port, _ := strconv.Atoi(p)
		mode := tlsOpportunistic
		switch {
		case r.SmarthostImplicitTLS:
			mode = tlsImplicit
		case r.SmarthostUser != "":
			mode = tlsVerified // credentials only over verified TLS
		}
		return "smarthost " + r.Smarthost, []hop{{Name: host, Port: port}}, mode, nil
	}
	hops, rerr := mxRoute(ctx, r.DNS, domain, r.port())
	if rerr != nil {
		return "", nil, 0, rerr
	}
	mode := tlsOpportunistic
	if r.TLSRequired[domain] {
		mode = tlsRequired
	}
	if r.STS != nil {
		if p := r.STS.Get(ctx, domain); p != nil && p.Mode == mtasts.Enforce {
			// RFC 8461 §4.1-4.2: only MX hosts the policy names, and
			// only over TLS with a valid certificate for that name.
			var ok []hop
			for _, h := range hops {
				if p.Match(h.Name) {
					ok = append(ok, h)
				} else {
					r.Log.Warn("MX host not allowed by MTA-STS policy", "domain", domain, "mx", h.Name)
				}
			}
			if len(ok) == 0 {
				return "", nil, 0, &routeError{Code: fmt.Sprintf("451 4.7.5 no MX host of %s matches its MTA-STS policy", domain)}
			}
			hops, mode = ok, tlsVerified
		}
	}
	return domain, hops, mode, nil
}

func (r *Remote) port() int {
	if r.Port == 0 {
		return 25
	}
	return r.Port
}

// Deliver makes one attempt to deliver m to rcpts, all in domain. sign
// returns what goes before the message bytes (a DKIM-Signature field, or
// ""); nil means nothing.
func (r *Remote) Deliver(ctx context.Context, m *spool.Message, domain string, rcpts []string, sign func() (string, error)) map[string]Outcome {
	out := make(map[string]Outcome, len(rcpts))
	setAll := func(o Outcome) {
		for _, rc := range rcpts {
			if _, done := out[rc]; !done {
				out[rc] = o
			}
		}
	}
	dest, hops, mode, rerr := r.route(ctx, domain)
	if rerr != nil {
		st := spool.Pending
		if rerr.Perm {
			st = spool.Failed
		}
		setAll(Outcome{Status: st, Text: rerr.Code})
		return out
	}
	// Wait briefly for a connection slot; a worker must not sit out a
	// busy destination while others have mail to send.
	wctx, cancel := context.WithTimeout(ctx, slotWait)
	release, err := r.pool.acquire(wctx, dest, r.PerDestination)
	cancel()
	if err != nil {
		text := busyText
		if ctx.Err() != nil {
			text = "451 4.3.2 delivery interrupted by shutdown"
		}
		setAll(Outcome{Status: spool.Pending, Text: text})
		return out
	}
	defer release()
	prefix := ""
	if sign != nil {
		var err error
		if prefix, err = sign(); err != nil {
			setAll(Outcome{Status: spool.Pending, Text: "451 4.3.0 DKIM signing failed: " + err.Error()})
			return out
		}
	}
	last := Outcome{Status: spool.Pending, Text: "451 4.4.1 no MX host answered"}
	for _, h := range hops {
		if ctx.Err() != nil {
			break
		}
		ips, err := r.lookupIP(ctx, h)
		if err != nil {
			last = Outcome{Status: spool.Pending, Text: fmt.Sprintf("451 4.4.3 address lookup of %s failed: %v", h.Name, err)}
			continue
		}
		hostMode, tlsa, err := r.daneTLS(ctx, h, mode)
		if err != nil {
			last = Outcome{Status: spool.Pending, Text: err.Error()}
			continue
		}
		for _, ip := range ips {
			addr := net.JoinHostPort(ip.String(), strconv.Itoa(h.Port))
			done, o := r.tryHost(ctx, m, h.Name, addr, hostMode, tlsa, rcpts, prefix, out)
			if done {
				setAll(o)
				return out
			}
			last = o
		}
	}
	setAll(last)
	return out
}

// lookupIP returns a hop's addresses: those mxRoute already has (an
// implicit MX), the address a smarthost is given as, or a lookup's.
func (r *Remote) lookupIP(ctx context.Context, h hop) ([]net.IP, error) {
	if h.IPs != nil {
		return h.IPs, nil
	}
	if ip := net.ParseIP(strings.Trim(h.Name, "[]")); ip != nil {
		return []net.IP{ip}, nil
	}
	return r.DNS.LookupIP(ctx, h.Name)
}

// daneTLS applies DANE to one MX host (RFC 7672 §2.2): when its address
// records and its TLSA records at _port._tcp.<host> are DNSSEC-validated,
// TLS is mandatory, authenticated by those records when any is usable,
// and this comes before MTA-STS (RFC 8461 §2). A TLSA query that gets no
// answer makes the host unusable for now (§2.2.2): the records it might
// hold could be what an attacker is hiding.
func (r *Remote) daneTLS(ctx context.Context, h hop, mode tlsMode) (tlsMode, []dane.Record, error) {
	v, ok := r.DNS.(dns.Validating)
	if !r.DANE || !ok || r.Smarthost != "" || !v.AddressSecure(ctx, h.Name) {
		return mode, nil, nil
	}
	name := fmt.Sprintf("_%d._tcp.%s", h.Port, h.Name)
	recs, secure, err := v.LookupTLSA(ctx, name)
	switch {
	case errors.Is(err, dns.ErrNotFound), err == nil && !secure:
		return mode, nil, nil
	case err != nil:
		return mode, nil, fmt.Errorf("451 4.7.5 TLSA lookup of %s failed: %v", name, err)
	}
	if usable := dane.Usable(recs); len(usable) > 0 {
		return tlsDANE, usable, nil
	}
	if mode == tlsOpportunistic {
		return tlsRequired, nil, nil // secure records, none usable: TLS, unauthenticated
	}
	return mode, nil, nil
}

func (r *Remote) tlsConfig(host string, mode tlsMode, tlsa []dane.Record) *tls.Config {
	c := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	switch mode {
	case tlsDANE:
		// The TLSA records, not the Web PKI, say which certificate is
		// right; SNI still names the host (RFC 7672 §8.1).
		c.InsecureSkipVerify = true
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			return dane.Verify(tlsa, cs.PeerCertificates, host, time.Now())
		}
	case tlsVerified, tlsImplicit:
		c.RootCAs = r.Roots
	default:
		// RFC 7435 opportunistic security: encryption without
		// authentication beats plaintext; the certificate is not checked.
		c.InsecureSkipVerify = true
	}
	return c
}

// session returns a pooled or new session to addr.
func (r *Remote) session(ctx context.Context, host, addr string, mode tlsMode, tlsa []dane.Record) (*conn, string, error) {
	key := fmt.Sprintf("%s|%s|%d", host, addr, mode)
	if s := r.pool.get(key); s != nil {
		return s, key, nil
	}
	timeout := r.CommandTimeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	d := &net.Dialer{Timeout: r.ConnectTimeout}
	s, err := dialSession(ctx, d, host, addr, r.Hostname, mode, r.tlsConfig(host, mode, tlsa), timeout)
	var te errTLS
	if err != nil && mode == tlsOpportunistic && errors.As(err, &te) {
		// A failed opportunistic handshake: try again in plaintext, as
		// Postfix does at security level "may". The session stays pooled
		// under the opportunistic key, so the next message reuses it.
		r.Log.Warn("STARTTLS failed, retrying without TLS", "host", host, "addr", addr, "err", err)
		s, err = dialSession(ctx, d, host, addr, r.Hostname, tlsNone, nil, timeout)
	}
	if err != nil {
		return nil, key, err
	}
	if r.Smarthost != "" && r.SmarthostUser != "" {
		if s.tls == nil {
			s.c.Close()
			return nil, key, errTLS{errors.New("smarthost offers no TLS: refusing to send credentials in the clear")}
		}
		if err := s.c.Auth(sasl.NewPlainClient("", r.SmarthostUser, r.SmarthostPassword)); err != nil {
			s.c.Close()
			return nil, key, fmt.Errorf("smarthost AUTH as %s failed: %w", r.SmarthostUser, err)
		}
	}
	return s, key, nil
}

// tryHost attempts the transaction at one address. done reports that the
// host answered the transaction (per-recipient outcomes are in out, o is
// for any recipient left); otherwise o says why the host was unusable and
// the next one should be tried.
func (r *Remote) tryHost(ctx context.Context, m *spool.Message, host, addr string, mode tlsMode, tlsa []dane.Record, rcpts []string, prefix string, out map[string]Outcome) (bool, Outcome) {
	ip, port, _ := net.SplitHostPort(addr)
	remote := fmt.Sprintf("%s[%s]:%s", host, ip, port) // Postfix's relay= form
	for try := 0; try < 2; try++ {
		s, key, err := r.session(ctx, host, addr, mode, tlsa)
		if err != nil {
			return false, Outcome{Status: spool.Pending, Text: failText(err, "4.4.1"), Remote: remote}
		}
		// At shutdown, cut the session short: the recipients stay
		// pending and the message is tried again after restart.
		stop := context.AfterFunc(ctx, func() { s.dead.Store(true); s.raw.Close() })
		done, reusable, stale, o := r.transact(s, m, rcpts, prefix, out)
		if stale && s.reused > 0 && try == 0 {
			stop()
			s.c.Close()
			continue // the pooled connection had died: once more, fresh
		}
		// RFC 5321 §4.5.3.1.10: recipients refused with 452 (too many
		// for one transaction) go in the next transaction, at once.
		for done && reusable {
			more := tooMany(out, rcpts)
			if len(more) == 0 || !progressed(out, rcpts) {
				break
			}
			for _, rc := range more {
				delete(out, rc)
			}
			done, reusable, _, o = r.transact(s, m, more, prefix, out)
			if !done {
				for _, rc := range more {
					if _, ok := out[rc]; !ok {
						out[rc] = o
					}
				}
				done = true
			}
			if !progressed(out, more) {
				break
			}
		}
		stop()
		o.Remote = remote
		if reusable {
			r.pool.put(key, s)
		} else {
			s.c.Close()
		}
		for rc, oc := range out {
			if oc.Remote == "" {
				oc.Remote = remote
				out[rc] = oc
			}
		}
		if done {
			tlsInfo := "none"
			if s.tls != nil {
				tlsInfo = tls.VersionName(s.tls.Version)
				if mode == tlsDANE {
					tlsInfo += ", DANE-authenticated"
				}
			}
			for rc, oc := range out {
				r.Log.Info("remote delivery", "id", m.Envelope.ID, "rcpt", rc, "status", oc.Status, "relay", remote, "tls", tlsInfo, "reply", oc.Text)
			}
		}
		return done, o
	}
	return false, Outcome{Status: spool.Pending, Text: "451 4.4.2 connection lost", Remote: remote}
}

// tooMany lists the recipients a server deferred with 452.
func tooMany(out map[string]Outcome, rcpts []string) []string {
	var more []string
	for _, rc := range rcpts {
		if o, ok := out[rc]; ok && o.Status == spool.Pending && strings.HasPrefix(o.Text, "452 ") {
			more = append(more, rc)
		}
	}
	return more
}

// progressed reports whether any of rcpts got a final outcome.
func progressed(out map[string]Outcome, rcpts []string) bool {
	for _, rc := range rcpts {
		if o, ok := out[rc]; ok && o.Status != spool.Pending {
			return true
		}
	}
	return false
}

// transact runs MAIL, RCPT..., DATA on a ready session: in one write when
// the server offers PIPELINING (RFC 2920 §3.1), as Postfix's smtp client
// does, so a transaction waits for one group of replies rather than one
// reply per command; each recipient keeps its own reply either way.
// stale reports a network failure before the reply to MAIL (a pooled
// session that timed out).
func (r *Remote) transact(s *conn, m *spool.Message, rcpts []string, prefix string, out map[string]Outcome) (done, reusable, stale bool, o Outcome) {
	env := &m.Envelope
	opts := &smtp.MailOptions{Size: env.Size + int64(len(prefix))}
	if !ascii(env.From) || !allASCII(rcpts) {
		// RFC 6531 §3.4: internationalized addresses need SMTPUTF8.
		if ok, _ := s.c.Extension("SMTPUTF8"); !ok {
			return true, true, false, Outcome{Status: spool.Failed, Text: "553 5.6.7 the recipient's server does not support SMTPUTF8 for a non-ASCII address"}
		}
		opts.UTF8 = true
	}
	w, res, err := s.c.Transaction(env.From, opts, rcpts, nil)
	if res == nil {
		// Nothing was sent: the EHLO again after a RSET failed, or
		// go-smtp refused an address.
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return replyStatus(se) == spool.Failed, false, false, Outcome{Status: replyStatus(se), Text: replyText(se)}
		}
		return false, false, true, Outcome{Status: spool.Pending, Text: failText(err, "4.4.2")}
	}
	// err != nil: the connection is unusable, whatever was answered.
	if res.Mail != nil {
		var se *smtp.SMTPError
		if !errors.As(res.Mail, &se) {
			return false, false, true, Outcome{Status: spool.Pending, Text: failText(res.Mail, "4.4.2")}
		}
		st := replyStatus(se)
		return st == spool.Failed, err == nil && s.c.Reset() == nil, false, Outcome{Status: st, Text: replyText(se)}
	}
	accepted := 0
	for i, rc := range rcpts {
		if res.Rcpt[i] == nil {
			accepted++
			continue
		}
		var se *smtp.SMTPError
		if !errors.As(res.Rcpt[i], &se) {
			// The connection broke: this recipient and those after
			// it, and the accepted ones, stay pending with o.
			return true, false, false, Outcome{Status: spool.Pending, Text: failText(res.Rcpt[i], "4.4.2")}
		}
		out[rc] = Outcome{Status: replyStatus(se), Text: replyText(se)}
	}
	if accepted == 0 {
		return true, err == nil && s.c.Reset() == nil, false, Outcome{Status: spool.Pending, Text: "451 4.4.2 no recipient accepted"}
	}
	st, text, reusable := r.data(s, w, res.Data, m, prefix)
	for i, rc := range rcpts {
		if res.Rcpt[i] == nil {
			out[rc] = Outcome{Status: st, Text: text}
		}
	}
	return true, reusable, false, Outcome{Status: spool.Pending, Text: text}
}

// data sends the message: prefix, then the spooled bytes with line ends
// forced to CRLF under go-smtp's dot-stuffing writer. w is nil when DATA
// was not accepted; refused then says why.
func (r *Remote) data(s *conn, w *smtp.DataCommand, refused error, m *spool.Message, prefix string) (status, text string, reusable bool) {
	if w == nil {
		var se *smtp.SMTPError
		if errors.As(refused, &se) {
			return replyStatus(se), replyText(se), s.c.Reset() == nil
		}
		return spool.Pending, failText(refused, "4.4.2"), false
	}
	// RFC 5321 §4.5.3.2.5: 3 minutes per data block; a bound on the
	// whole body keeps a peer that stops reading from holding a worker.
	s.raw.SetWriteDeadline(time.Now().Add(10 * time.Minute))
	cw := &crlfWriter{w: w}
	_, err := io.WriteString(cw, prefix)
	if err == nil {
		_, err = io.Copy(cw, m.Body())
	}
	s.raw.SetWriteDeadline(time.Time{})
	if err != nil {
		return spool.Pending, failText(err, "4.4.2"), false
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return replyStatus(se), replyText(se), true
		}
		return spool.Pending, failText(err, "4.4.2"), false
	}
	return spool.Delivered, "250 " + resp.StatusText, true
}

// replyStatus is what a server reply makes of a recipient: a 5xx fails
// it, anything else leaves it pending.
func replyStatus(se *smtp.SMTPError) string {
	if se.Code/100 == 5 {
		return spool.Failed
	}
	return spool.Pending
}

// replyText renders a server reply as "550 5.1.1 text".
func replyText(se *smtp.SMTPError) string {
	msg := strings.ReplaceAll(se.Message, "\n", " ")
	if se.EnhancedCode[0] > 0 {
		return fmt.Sprintf("%d %d.%d.%d %s", se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2], msg)
	}
	return fmt.Sprintf("%d %s", se.Code, msg)
}

// failText renders a local failure (no reply) as a temporary status.
func failText(err error, enh string) string {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return replyText(se)
	}
	var te errTLS
	if errors.As(err, &te) {
		enh = "4.7.5" // RFC 3463: cryptographic failure
	}
	return fmt.Sprintf("451 %s %v", enh, err)
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func allASCII(ss []string) bool {
	for _, s := range ss {
		if !ascii(s) {
			return false
		}
	}
	return true
}
