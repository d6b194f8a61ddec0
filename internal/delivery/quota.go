package delivery

import (
	"context"
	"errors"

	"mailgate/internal/config"
	"mailgate/internal/mailbox"
	"mailgate/internal/spool"
	"mailgate/internal/verdict"
)

// Quotas gives each account's mailbox storage quota in octets (0:
// unlimited): the store's MailboxQuota, the account's own or [mailbox]
// quota.
type Quotas interface {
	MailboxQuota(ctx context.Context, account string) (int64, error)
}

// fullReply is the refusal of a delivery to a full mailbox (RFC 3463
// X.2.2 "mailbox full"), per [mailbox] quota_full: 452 4.2.2, retried by
// the sender or our queue until the message's lifetime (Dovecot's
// quota_full_tempfail = yes), or 552 5.2.2, refused for good (RFC 5321
// §4.5.3.1.10: 552 "exceeded storage allocation"; Dovecot's default).
func (l *Local) fullReply() *verdict.Reply {
	if l.QuotaFull == config.QuotaFullReject {
		return &verdict.Reply{Code: 552, Enhanced: [3]int{5, 2, 2}, Text: "Mailbox full"}
	}
	return &verdict.Reply{Code: 452, Enhanced: [3]int{4, 2, 2}, Text: "Mailbox full"}
}

// checkQuota says whether adding octets to acct's Maildir (dir) fits its
// quota: nil, or the outcome of a refused delivery. A failed lookup is a
// temporary failure, as a failed directory lookup is.
func (l *Local) checkQuota(ctx context.Context, acct, dir string, adding int64) *outcome {
	if l.Quotas == nil {
		return nil
	}
	limit, err := l.Quotas.MailboxQuota(ctx, acct)
	if err == nil {
		err = mailbox.CheckQuota(dir, limit, adding)
	}
	return l.quotaOutcome(acct, err)
}

// quotaOutcome turns the result of a quota check into nil (it fits), a
// full mailbox's refusal, or a temporary failure.
func (l *Local) quotaOutcome(acct string, err error) *outcome {
	var qe *mailbox.QuotaError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &qe):
		// The text goes into DSNs to whoever sent the message: no
		// figures of the subscriber's mailbox in it (the log has them).
		r := l.fullReply()
		l.Log.Info("mailbox full", "account", acct, "used", qe.Usage.Bytes, "quota", qe.Limit, "adding", qe.Adding)
		o := &outcome{status: spool.Pending, refusal: r, text: r.String()}
		if r.Code >= 500 {
			o.status = spool.Failed
		}
		return o
	}
	return &outcome{status: spool.Pending, text: "mailbox quota unavailable: " + err.Error()}
}

// RcptFull is the MX's check at RCPT TO of a recipient whose mailbox is on
// this node: a mailbox at or over its quota, or one the message's
// announced size (RFC 1870 SIZE; 0 when not given) would take over it,
// gets the full-mailbox reply for that recipient only. nil: accept (also
// when the recipient is not ours, is homed on another node, or a lookup
// fails: delivery decides then).
func (l *Local) RcptFull(ctx context.Context, rcpt string, size int64) *verdict.Reply {
	if l.Quotas == nil {
		return nil
	}
	acct, err := l.Dir.Resolve(ctx, rcpt)
	if err != nil {
		return nil
	}
	if l.Homes != nil {
		if node, err := l.Homes.Away(ctx, acct); err != nil || node != "" {
			return nil // the home node's delivery decides
		}
	}
	dir, err := mailbox.Dir(l.MailRoot, acct)
	if err != nil {
		return nil
	}
	// Adding at least one octet: a mailbox exactly at its quota is full.
	if o := l.checkQuota(ctx, acct, dir, max(size, 1)); o != nil && o.refusal != nil {
		l.Log.Info("recipient refused: mailbox full", "rcpt", rcpt, "account", acct)
		return o.refusal
	}
	return nil
}
