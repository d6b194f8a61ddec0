package smtpd

import (
	"context"

	"github.com/emersion/go-smtp"

	"mailgate/internal/message"
	"mailgate/internal/spool"
	"mailgate/internal/verdict"
)

// LocalDelivery delivers to local mailboxes before the 250 (the delivery
// agent's local delivery, delivery.Local.DeliverBeforeAck): it returns
// every recipient's state, those it could not deliver now Pending, and
// the refusal for a sole recipient (its Sieve script's reject, its full
// mailbox).
type LocalDelivery interface {
	DeliverBeforeAck(ctx context.Context, env *spool.Envelope, body []byte) (st *spool.State, refusal *verdict.Reply)
}

// RcptQuota refuses a recipient whose mailbox on this node is full, or
// would be with a message of size octets (RFC 1870 SIZE; 0 unknown): the
// reply, or nil to accept.
type RcptQuota interface {
	RcptFull(ctx context.Context, rcpt string, size int64) *verdict.Reply
}

// store takes the accepted message with its trace fields: into the spool,
// or, with Local set, into the local recipients' Maildirs first and the
// spool only for what is left. The MX and submission (webmail's Submit
// included) both end here: a message to a mailbox on this node is one
// durable write either way, and its Sieve reject the sender's reply. The 250 follows only once both are on
// stable storage; the file bytes are the same either way (the fields are
// prepended here, once, for both).
func (s *session) store(env *spool.Envelope, body []byte, fields []string) *smtp.SMTPError {
	if s.srv.Local == nil {
		return s.spool(env, body, fields)
	}
	body = message.Prepend(body, fields...)
	env.Size = int64(len(body))
	st, refusal := s.srv.Local.DeliverBeforeAck(context.Background(), env, body)
	if refusal != nil {
		// RFC 5429 §2.1: a Sieve reject at the protocol level; a full
		// mailbox (RFC 3463 X.2.2) likewise, so the sender keeps the
		// message rather than our queue.
		s.log.Info("refused for the only recipient", "id", env.ID, "from", env.From, "rcpt", env.To[0], "reply", refusal.String())
		return smtpReply(refusal)
	}
	pending := len(st.Pending())
	if pending == 0 {
		s.log.Info("delivered before the reply", "id", env.ID, "from", env.From, "rcpts", len(env.To), "size", env.Size)
		return queuedReply(env.ID)
	}
	put := func() error { return s.srv.Spool.Put(env, body) }
	if pending < len(st.Rcpts) || len(st.Rcpts) != len(env.To) {
		// Some were delivered, or Sieve added redirect targets: the
		// queue gets the state saying which are left.
		put = func() error { return s.srv.Spool.PutWithState(env, body, st) }
	}
	if err := put(); err != nil {
		// Copies already in Maildirs stay: the client retries, as after
		// any failure between an LMTP delivery and its reply.
		s.log.Error("spool write failed", "err", err)
		return errTempLocal
	}
	s.log.Info("queued", "id", env.ID, "from", env.From, "rcpts", pending, "delivered", len(st.Rcpts)-pending, "size", env.Size)
	return queuedReply(env.ID)
}

// queuedReply is the 250 for both paths: "queued as" is the text clients
// and operators match a message's ID by (Postfix's), whether it then
// went to the queue or was delivered at once.
func queuedReply(id string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0}, Message: "OK queued as " + id}
}
