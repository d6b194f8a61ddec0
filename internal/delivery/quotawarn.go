package delivery

import (
	"context"

	"mailgate/internal/mailbox"
)

// reserveQuota is checkQuota for a delivery about to be stored, through
// quotawarn.Reserve as every writer of a Maildir does: the octets stay
// reserved until done, so that deliveries (and APPENDs, webmail saves) to
// the same mailbox at once cannot all pass the check against the same
// usage. done, never nil, is called once the delivery's copies are stored
// (or it failed) with what they added to the usage; with quota warnings
// on it stores the warning if one is due.
func (l *Local) reserveQuota(ctx context.Context, acct, dir string, adding int64) (done func(added mailbox.Usage), o *outcome) {
	nothing := func(mailbox.Usage) {}
	if l.Quotas == nil {
		return nothing, nil
	}
	limit, err := l.Quotas.MailboxQuota(ctx, acct)
	if err != nil {
		return nothing, l.quotaOutcome(acct, err)
	}
	done, err = l.QuotaWarner.Reserve(acct, dir, limit, adding)
	if o := l.quotaOutcome(acct, err); o != nil {
		return nothing, o
	}
	return done, nil
}
