package reputation

import (
	"context"
	"net/netip"
	"time"

	"mailgate/internal/message"
	"mailgate/internal/verdict"
)

// ClientStage refuses the worst clients (verdict.ClientStage): the MX
// runs it once per session while the client says EHLO and applies the
// refusal at MAIL FROM. Most of its refusals the ConnectStage has already
// given before the greeting; those left are our own pools, rDNS, and a
// list that answered after connect_wait.
type ClientStage struct{ C *Checker }

func (ClientStage) Name() string { return "reputation" }

func (s ClientStage) CheckClient(ctx context.Context, c *verdict.Client) *verdict.Reply {
	r := s.C.Check(ctx, c)
	s.C.remember(r)
	return r.Refusal
}

// MessageStage puts the client's score on each message it sends
// (X-Mailgate-Reputation) and in the verdict note "reputation" (the
// *Report) for later stages, such as a spam scanner's. It also refuses a
// client the client stage would have refused but did not in time: the MX
// waits only a few seconds for the client verdict, and a sender must not
// slip past the lists by making its own PTR lookups slow.
type MessageStage struct{ C *Checker }

func (MessageStage) Name() string { return "reputation" }

func (s MessageStage) CheckMessage(ctx context.Context, c *verdict.Client, m *verdict.Message, so *verdict.Verdict) verdict.Result {
	r := s.C.recall(c)
	if r == nil {
		r = s.C.Check(ctx, c)
		s.C.remember(r)
	}
	if r.Refusal != nil {
		return verdict.Result{Reply: r.Refusal}
	}
	so.Note("reputation", r)
	res := verdict.Result{Fields: []string{r.Field()}}
	if r.Score != 0 {
		res.Log = []any{"score", r.Score}
	}
	// A field of ours arriving with the message is a forgery: a sender
	// must not be able to write our verdict for later stages, Sieve
	// scripts or the reader (as RFC 8601 §5 says of Authentication-Results).
	if body, n := message.RemoveFields(m.Body, message.Named(FieldName)); n > 0 {
		res.Body = body
		res.Log = append(res.Log, "forged_reputation_removed", n)
	}
	return res
}

// remember keeps the report for the messages of the session.
func (c *Checker) remember(r *Report) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.memo) >= memoSize {
		c.memo = map[netip.Addr]memoEntry{}
	}
	c.memo[r.IP] = memoEntry{r, time.Now()}
}

// recall returns the client's recent report, or nil.
func (c *Checker) recall(client *verdict.Client) *Report {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.memo[client.IP.Unmap()]
	if !ok || time.Since(e.at) > memoTTL {
		return nil
	}
	return e.r
}
