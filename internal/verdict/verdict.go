// Package verdict judges a message before the 250. The session decides who
// may say what; the verdict decides what happens to the message, computed
// once, before the reply, so a refusal is an SMTP reply and never a bounce
// (no backscatter). Checks are small ordered stages, as maddy's check
// modules are; the MX and submission run the same machinery with different
// lists of stages.
package verdict

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
)

// Client is what is known of the connecting client.
type Client struct {
	IP      netip.Addr
	Helo    string // the EHLO/HELO argument
	RDNS    string // forward-confirmed reverse DNS name, "" when none
	TLS     bool
	Service string // "mx", "submission", "submissions", "webmail" (smtpd.Submit)
	Account string // the authenticated account; "" when none (the MX)
}

// Message is one mail transaction at the end of DATA.
type Message struct {
	ID    string   // the queue ID it will be stored under
	From  string   // envelope sender; "" is the null return path <>
	Rcpts []string // envelope recipients, normalized
	// Body is the message as received, CRLF line ends, without the
	// fields this node adds (Received and the stages' Fields).
	Body []byte
}

// Reply is an SMTP refusal: 4xx temporary, 5xx permanent.
type Reply struct {
	Code     int
	Enhanced [3]int
	Text     string
}

func (r *Reply) String() string {
	return fmt.Sprintf("%d %d.%d.%d %s", r.Code, r.Enhanced[0], r.Enhanced[1], r.Enhanced[2], r.Text)
}

// Result is what one stage says of a message.
type Result struct {
	// Reply, when set, refuses the transaction; later stages do not run.
	Reply *Reply
	// Fields are header fields to prepend, each "Name: value" without its
	// line end (message.Prepend), in the order they should appear.
	Fields []string
	// Body, when set, replaces the message for the stages after this one
	// and for storage (e.g. forged Authentication-Results removed).
	Body []byte
	// Junk delivers the message to the recipients' Junk folder.
	Junk bool
	// Unverified says the return path failed sender authentication (SPF
	// or DMARC fail): nothing automatic (a Sieve rejection, a vacation
	// reply) may be sent to it, which would be backscatter.
	Unverified bool
	// Log is key/value pairs for the node's log line about the message.
	Log []any
}

// ConnectStage judges a client by its address alone, as soon as the TCP
// connection is accepted: a refusal replaces the greeting (RFC 5321 §3.1).
// Checks that need the EHLO name or the sender are ClientStages.
type ConnectStage interface {
	Name() string
	CheckConnect(ctx context.Context, ip netip.Addr) *Reply
}

// ClientStage judges a client once per session, after EHLO/HELO.
type ClientStage interface {
	Name() string
	CheckClient(ctx context.Context, c *Client) *Reply
}

// MessageStage judges one message at the end of DATA. It sees the results
// of the stages before it through Verdict (e.g. a spam stage can read the
// authentication results).
type MessageStage interface {
	Name() string
	CheckMessage(ctx context.Context, c *Client, m *Message, so *Verdict) Result
}

// Verdict is the sum of every stage's result for one message.
type Verdict struct {
	Reply  *Reply
	Fields []string
	Body   []byte // the message to store, before Fields are prepended
	Junk   bool
	// Unverified: some stage found the return path forged (Result).
	Unverified bool
	// Notes carry facts from one stage to a later one (an "spf" result,
	// a spam score), keyed by the stage that wrote them.
	Notes map[string]any
}

// Note records a fact for later stages.
func (v *Verdict) Note(key string, value any) {
	if v.Notes == nil {
		v.Notes = map[string]any{}
	}
	v.Notes[key] = value
}

// Pipeline is an ordered list of stages. The zero value checks nothing.
type Pipeline struct {
	Connect []ConnectStage
	Client  []ClientStage
	Message []MessageStage
	Log     *slog.Logger
}

// CheckConnect runs the connect stages in order; the first refusal wins.
func (p *Pipeline) CheckConnect(ctx context.Context, ip netip.Addr) *Reply {
	if p == nil {
		return nil
	}
	for _, st := range p.Connect {
		if r := st.CheckConnect(ctx, ip); r != nil {
			p.log().Info("client refused at connect", "stage", st.Name(), "client", ip, "reply", r.String())
			return r
		}
	}
	return nil
}

// CheckClient runs the client stages in order; the first refusal wins.
func (p *Pipeline) CheckClient(ctx context.Context, c *Client) *Reply {
	if p == nil {
		return nil
	}
	for _, st := range p.Client {
		if r := st.CheckClient(ctx, c); r != nil {
			p.log().Info("client refused", "stage", st.Name(), "client", c.IP, "helo", c.Helo, "reply", r.String())
			return r
		}
	}
	return nil
}

// CheckMessage runs the message stages in order and sums their results.
// A refusal stops the run: what earlier stages added does not matter then.
func (p *Pipeline) CheckMessage(ctx context.Context, c *Client, m *Message) *Verdict {
	v := &Verdict{Body: m.Body}
	if p == nil {
		return v
	}
	for _, st := range p.Message {
		r := st.CheckMessage(ctx, c, m, v)
		if len(r.Log) > 0 {
			p.log().Info("verdict", append([]any{"stage", st.Name(), "id", m.ID}, r.Log...)...)
		}
		if r.Reply != nil {
			v.Reply = r.Reply
			p.log().Info("message refused", "stage", st.Name(), "id", m.ID, "client", c.IP, "reply", r.Reply.String())
			return v
		}
		v.Fields = append(v.Fields, r.Fields...)
		if r.Body != nil {
			v.Body, m.Body = r.Body, r.Body
		}
		v.Junk = v.Junk || r.Junk
		v.Unverified = v.Unverified || r.Unverified
	}
	return v
}

func (p *Pipeline) log() *slog.Logger {
	if p.Log == nil {
		return slog.Default()
	}
	return p.Log
}
