package delivery

import (
	"context"
	"strings"

	"mailgate/internal/mailbox"
	"mailgate/internal/metrics"
	"mailgate/internal/spool"
	"mailgate/internal/verdict"
)

// DeliverBeforeAck delivers a message the MX has not yet acknowledged to
// the recipients whose mailbox is on this node, as an LMTP server does
// ([delivery] local_before_ack): the same rules as Deliver (Sieve,
// folders, flags, Junk, redirects, vacation), with the message written
// once and linked into every Maildir (mailbox.Copy). It returns when
// those copies are on stable storage.
//
// st has every recipient: Delivered ones are done; every other is
// Pending, for the queue (remote, homed on another node, a temporary
// failure, the targets of Sieve redirects, and a Sieve rejection or a
// permanent failure of one of several recipients, for which the agent
// sends the DSN as it does today). refusal, when not nil, is the reply
// that refuses the message for its only recipient: that recipient's
// script rejected it (RFC 5429 §2.1) or its mailbox is full (RFC 3463
// X.2.2, 4.2.2 or 5.2.2 by [mailbox] quota_full); the caller refuses the
// message at the protocol level and queues nothing, so the sender, not
// our queue, keeps or bounces it.
func (l *Local) DeliverBeforeAck(ctx context.Context, env *spool.Envelope, body []byte) (st *spool.State, refusal *verdict.Reply) {
	m := spool.InMemory(*env, body)
	st = &spool.State{NextAttempt: env.Received}
	for _, r := range env.To {
		st.Rcpts = append(st.Rcpts, spool.RcptState{Addr: r, Status: spool.Pending})
	}
	c := mailbox.NewCopy(body)
	defer c.Close()
	refusals := l.deliverAll(ctx, m, st, c.DeliverCounted)
	if len(st.Rcpts) == 1 && st.Rcpts[0].Status != spool.Delivered {
		if r, ok := refusals[st.Rcpts[0].Addr]; ok {
			if r.Code >= 500 {
				metrics.Deliveries.WithLabelValues("failed").Inc()
			}
			return st, r
		}
	}
	for i, r := range st.Rcpts {
		switch r.Status {
		case spool.Delivered:
			metrics.Deliveries.WithLabelValues("delivered").Inc()
		case spool.Failed:
			// The queue fails it again and sends the DSN, as when the
			// spool came first.
			st.Rcpts[i].Status = spool.Pending
		}
	}
	return st, nil
}

// sieveRejectReply makes a Sieve rejection reason fit an SMTP reply line: one
// line, printable US-ASCII (RFC 5321 §4.2: the text; RFC 5429 §2.1 leaves
// the encoding of a non-ASCII reason to the protocol), at most 400
// octets so that code and text stay within the 512 of §4.5.3.1.5.
func sieveRejectReply(reason string) string {
	reason = strings.Map(func(r rune) rune {
		switch {
		case r == '\r' || r == '\n' || r == '\t':
			return ' '
		case r < 0x20 || r >= 0x7f:
			return '?'
		}
		return r
	}, reason)
	reason = strings.TrimSpace(reason)
	if len(reason) > 400 {
		reason = reason[:400]
	}
	if reason == "" {
		reason = "rejected"
	}
	return "rejected by the recipient's filter: " + reason
}
