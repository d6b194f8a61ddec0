package delivery

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// tlsMode is how a connection must use TLS.
type tlsMode int

const (
	tlsOpportunistic tlsMode = iota // STARTTLS when offered, any certificate (RFC 7435)
	tlsRequired                     // STARTTLS or no delivery, any certificate
	tlsVerified                     // STARTTLS with a certificate valid for the host (MTA-STS, smarthost)
	tlsImplicit                     // TLS from the first byte, verified (smarthost on 465)
	tlsNone                         // plaintext: the retry after a failed opportunistic handshake
	tlsDANE                         // STARTTLS with a certificate the host's TLSA records name (RFC 7672)
)

// errTLS marks a failure the TLS policy caused: the peer offered no
// STARTTLS, or the handshake or certificate failed.
type errTLS struct{ err error }

func (e errTLS) Error() string { return e.err.Error() }
func (e errTLS) Unwrap() error { return e.err }

// conn is an open SMTP session to one host, ready for MAIL.
type conn struct {
	c      *smtp.Client
	tls    *tls.ConnectionState
	raw    net.Conn
	reused int
	dead   atomic.Bool // closed under it at shutdown
}

// greetedConn replays a greeting to go-smtp's client: we read the real
// greeting and did EHLO/STARTTLS ourselves (go-smtp cannot STARTTLS with a
// chosen EHLO name), and go-smtp's client then starts with a fresh EHLO,
// as RFC 3207 §4.2 requires after STARTTLS anyway.
type greetedConn struct {
	net.Conn
	r io.Reader
}

func (g *greetedConn) Read(p []byte) (int, error) { return g.r.Read(p) }

// dialSession connects to addr, reads the greeting, says EHLO, applies the
// TLS mode and returns a go-smtp client ready for MAIL.
func dialSession(ctx context.Context, d *net.Dialer, host, addr, helo string, mode tlsMode, tlsConf *tls.Config, timeout time.Duration) (*conn, error) {
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	raw.SetDeadline(time.Now().Add(timeout))
	fail := func(err error) (*conn, error) { raw.Close(); return nil, err }
	var netConn net.Conn = raw
	var state *tls.ConnectionState
	handshake := func() error {
		tc := tls.Client(raw, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return errTLS{fmt.Errorf("TLS handshake with %s: %w", addr, err)}
		}
		st := tc.ConnectionState()
		state, netConn = &st, tc
		return nil
	}
	if mode == tlsImplicit {
		if err := handshake(); err != nil {
			return fail(err)
		}
	}
	tp := textproto.NewConn(limitReplies(netConn))
	code, msg, err := tp.ReadResponse(220)
	if err != nil {
		return fail(replyErr(code, msg, err, "greeting"))
	}
	if mode != tlsImplicit && mode != tlsNone {
		ext, err := ehlo(tp, helo)
		if err != nil {
			return fail(err)
		}
		if _, ok := ext["STARTTLS"]; !ok {
			if mode != tlsOpportunistic {
				return fail(errTLS{fmt.Errorf("%s offers no STARTTLS, and TLS is required for this destination", addr)})
			}
		} else {
			if err := tp.PrintfLine("STARTTLS"); err != nil {
				return fail(err)
			}
			if code, msg, err := tp.ReadResponse(220); err != nil {
				return fail(errTLS{replyErr(code, msg, err, "STARTTLS")})
			}
			// Bytes after the 220 came in plaintext: taking them for
			// answers over TLS would let a man in the middle inject
			// replies (the client side of CVE-2011-0411). Refuse.
			if tp.R.Buffered() > 0 {
				return fail(errTLS{fmt.Errorf("%s sent data after its STARTTLS reply", addr)})
			}
			if err := handshake(); err != nil {
				return fail(err)
			}
		}
	}
	// The session continues on netConn: after STARTTLS nothing read in
	// plaintext carries over; otherwise the stream simply goes on (and
	// the server speaks only when spoken to, so nothing is buffered).
	// go-smtp's client bounds the replies from here on itself.
	rest := io.Reader(netConn)
	if state == nil || mode == tlsImplicit {
		rest = readerAfter(tp, netConn)
	}
	replay := io.MultiReader(strings.NewReader("220 "+host+" ready\r\n"), rest)
	raw.SetDeadline(time.Time{})
	c := smtp.NewClient(&greetedConn{Conn: netConn, r: replay})
	c.CommandTimeout = timeout
	if err := c.Hello(helo); err != nil {
		c.Close()
		return nil, err
	}
	return &conn{c: c, tls: state, raw: raw}, nil
}

// readerAfter returns what tp had buffered followed by the connection.
func readerAfter(tp *textproto.Conn, c net.Conn) io.Reader {
	if n := tp.R.Buffered(); n > 0 {
		b, _ := tp.R.Peek(n)
		return io.MultiReader(strings.NewReader(string(b)), c)
	}
	return c
}

// ehlo sends EHLO and returns the extension keywords offered (RFC 5321
// §4.1.1.1). A server refusing EHLO gets HELO, and offers nothing.
func ehlo(tp *textproto.Conn, helo string) (map[string]string, error) {
	if err := tp.PrintfLine("EHLO %s", helo); err != nil {
		return nil, err
	}
	code, msg, err := tp.ReadResponse(250)
	if err != nil {
		if code == 500 || code == 502 {
			if err := tp.PrintfLine("HELO %s", helo); err != nil {
				return nil, err
			}
			if code, msg, err := tp.ReadResponse(250); err != nil {
				return nil, replyErr(code, msg, err, "HELO")
			}
			return map[string]string{}, nil
		}
		return nil, replyErr(code, msg, err, "EHLO")
	}
	ext := map[string]string{}
	lines := strings.Split(msg, "\n")
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, " ")
		ext[strings.ToUpper(k)] = v
	}
	return ext, nil
}

func replyErr(code int, msg string, err error, stage string) error {
	var te *textproto.Error
	if errors.As(err, &te) {
		return &smtp.SMTPError{Code: te.Code, Message: fmt.Sprintf("%s (in reply to %s)", te.Msg, stage)}
	}
	return fmt.Errorf("%s: %w", stage, err)
}
