package fleet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"mailgate/internal/delivery"
	"mailgate/internal/spool"
	"mailgate/internal/store"
)

// Router routes local recipients to their home nodes: delivery.Homes for
// the delivery agent.
type Router struct {
	*Homes
	Certs *Certs
	// Timeout bounds the connection and each command.
	Timeout time.Duration
	Log     *slog.Logger

	pool lmtpPool
}

var _ delivery.Homes = (*Router)(nil)

// Handoff hands m to node over LMTP for rcpts, whose mailboxes live there,
// and returns each recipient's outcome. The home node answers 250 only
// once the message is in its spool, durably; until then the recipient
// stays pending here and is retried like any remote delivery, so a home
// that is down means queued, never lost, never delivered elsewhere.
func (r *Router) Handoff(ctx context.Context, node string, m *spool.Message, rcpts []string) map[string]delivery.Outcome {
	out := map[string]delivery.Outcome{}
	all := func(o delivery.Outcome) map[string]delivery.Outcome {
		for _, rc := range rcpts {
			out[rc] = o
		}
		return out
	}
	n, err := r.Store.Node(ctx, node)
	if errors.Is(err, store.ErrNotFound) {
		return all(delivery.Outcome{Status: spool.Pending, Text: "451 4.4.0 home node " + node + " is not registered in the fleet"})
	}
	if err != nil {
		return all(delivery.Outcome{Status: spool.Pending, Text: "451 4.3.0 fleet directory unavailable: " + err.Error()})
	}
	remote := "lmtp:" + node + "[" + n.Address + "]"
	key := node + " " + n.Address
	c := r.pool.get(key)
	if c == nil {
		if c, err = r.dial(ctx, node, n.Address); err != nil {
			return all(delivery.Outcome{Status: spool.Pending, Text: fmt.Sprintf("451 4.4.1 home node %s unreachable: %v", node, err), Remote: remote})
		}
	}
	c.CommandTimeout = r.timeout()
	res, clean := r.transact(c, m, rcpts)
	for rc, o := range res {
		o.Remote = remote
		out[rc] = o
		if o.Status == spool.Delivered {
			r.Log.Info("handed to home node", "id", m.Envelope.ID, "rcpt", rc, "node", node)
		} else {
			r.Log.Warn("hand-off to home node failed", "id", m.Envelope.ID, "rcpt", rc, "node", node, "reply", o.Text)
		}
	}
	if clean {
		r.pool.put(key, c)
	} else {
		c.Close()
	}
	return out
}

// Close ends the idle LMTP connections.
func (r *Router) Close() { r.pool.closeAll() }

func (r *Router) dial(ctx context.Context, node, addr string) (*smtp.Client, error) {
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: r.timeout()}, Config: r.Certs.ClientConfig(node, ProtoLMTP)}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if p := conn.(*tls.Conn).ConnectionState().NegotiatedProtocol; p != ProtoLMTP {
		conn.Close()
		return nil, fmt.Errorf("%s does not speak the fleet's LMTP (ALPN %q)", addr, p)
	}
	c := smtp.NewClientLMTP(conn)
	c.CommandTimeout = r.timeout()
	if err := c.Hello(r.Self); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// transact runs MAIL, RCPT..., DATA, pipelined in one write when the
// LHLO reply offers PIPELINING (RFC 2033 §5 requires it of the server,
// RFC 2920 §3.1), and reads one reply per accepted recipient after the
// content (RFC 2033 §4.2). clean says the connection is fit for the next
// hand-off: every reply came, none was a broken connection.
func (r *Router) transact(c *smtp.Client, m *spool.Message, rcpts []string) (map[string]delivery.Outcome, bool) {
	out := map[string]delivery.Outcome{}
	clean := true
	outcome := func(err error) delivery.Outcome {
		var se *smtp.SMTPError
		if !errors.As(err, &se) {
			clean = false
		}
		return outcomeOf(err)
	}
	env := &m.Envelope
	opts := &smtp.MailOptions{EnvelopeID: HandoffID(env), UTF8: !isASCII(env.From + strings.Join(rcpts, ""))}
	w, res, err := c.Transaction(env.From, opts, rcpts, nil)
	if res == nil {
		// Nothing was sent (a failed LHLO after RSET, an address
		// go-smtp refuses).
		o := outcomeOf(err)
		for _, rc := range rcpts {
			out[rc] = o
		}
		return out, false
	}
	if err != nil {
		clean = false
	}
	var accepted []string
	for i, rc := range rcpts {
		if res.Rcpt[i] != nil {
			// A refused MAIL is every recipient's reply.
			out[rc] = outcome(res.Rcpt[i])
			continue
		}
		accepted = append(accepted, rc)
	}
	if w == nil {
		// DATA refused, or not sent: no recipient was accepted.
		for _, rc := range accepted {
			out[rc] = outcome(res.Data)
		}
		return out, clean && c.Reset() == nil
	}
	// The spooled bytes already have CRLF line ends; the writer
	// dot-stuffs them (RFC 5321 §4.5.2).
	if _, err = io.Copy(w, m.Body()); err == nil {
		var resp map[string]*smtp.DataResponse
		resp, err = w.CloseWithLMTPResponse()
		var lerr smtp.LMTPDataError
		if errors.As(err, &lerr) {
			for _, rc := range accepted {
				if e := lerr[rc]; e != nil {
					out[rc] = outcome(e)
				} else {
					out[rc] = handedIn(resp, rc)
				}
			}
			return out, clean
		}
		if err == nil {
			for _, rc := range accepted {
				out[rc] = handedIn(resp, rc)
			}
			return out, clean
		}
	}
	o := outcome(err)
	for _, rc := range accepted {
		out[rc] = o
	}
	return out, false
}

// handedIn is the outcome of a recipient the home node took.
func handedIn(resp map[string]*smtp.DataResponse, rc string) delivery.Outcome {
	text := "250 2.0.0 handed to home node"
	if d := resp[rc]; d != nil {
		text = "250 " + d.StatusText
	}
	return delivery.Outcome{Status: spool.Delivered, Text: text}
}

// outcomeOf turns an LMTP error into a recipient's outcome: 5xx fails it,
// anything else (4xx, a broken connection) leaves it pending.
func outcomeOf(err error) delivery.Outcome {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		st := spool.Pending
		if se.Code/100 == 5 {
			st = spool.Failed
		}
		enh := ""
		if se.EnhancedCode != (smtp.EnhancedCode{}) && se.EnhancedCode != smtp.NoEnhancedCode {
			enh = fmt.Sprintf("%d.%d.%d ", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
		}
		return delivery.Outcome{Status: st, Text: fmt.Sprintf("%d %s%s", se.Code, enh, se.Message)}
	}
	return delivery.Outcome{Status: spool.Pending, Text: "451 4.4.2 hand-off to home node failed: " + err.Error()}
}

func (r *Router) timeout() time.Duration {
	if r.Timeout > 0 {
		return r.Timeout
	}
	return time.Minute
}

// HandoffID carries what the home node needs to file the message exactly
// as this node would have, in the MAIL command's ENVID (RFC 3461 §4.4):
// the spool ID, the time it was received (both name the Maildir file, so
// a hand-off repeated after a crash finds its earlier copy) and the
// verdict's junk flag. "<id>.<received unix ns, hex>.<j|n>".
func HandoffID(env *spool.Envelope) string {
	j := "n"
	if env.Junk {
		j = "j"
	}
	return env.ID + "." + strconv.FormatInt(env.Received.UnixNano(), 16) + "." + j
}

// ParseHandoffID is HandoffID's inverse.
func ParseHandoffID(s string) (id string, received time.Time, junk bool, err error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || parts[0] == "" || len(parts[0]) > 64 || (parts[2] != "j" && parts[2] != "n") {
		return "", time.Time{}, false, fmt.Errorf("hand-off ID %q is not <id>.<received>.<j|n>", s)
	}
	for _, c := range parts[0] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", time.Time{}, false, fmt.Errorf("hand-off ID %q: spool ID is not lower-case hex", s)
		}
	}
	ns, err := strconv.ParseInt(parts[1], 16, 64)
	if err != nil || ns <= 0 {
		return "", time.Time{}, false, fmt.Errorf("hand-off ID %q: bad receive time", s)
	}
	return parts[0], time.Unix(0, ns), parts[2] == "j", nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
