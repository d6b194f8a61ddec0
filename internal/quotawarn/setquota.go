package quotawarn

import (
	"context"

	"mailgate/internal/address"
	"mailgate/internal/mailbox"
)

// QuotaStore is the store's side of a quota change (store.Store).
type QuotaStore interface {
	// MailboxQuota is the quota in force for a normalized address.
	MailboxQuota(ctx context.Context, account string) (int64, error)
	// SetAccountQuota validates, sets and audits (user.quota).
	SetAccountQuota(ctx context.Context, actor, addr string, bytes int64) error
}

// SetQuota is the one operation behind `mailgate user quota ADDRESS
// SIZE`, the admin API's PUT .../quota and PATCH, and the console's form:
// store.SetAccountQuota (its refusals, its audit record), then the warning
// the change crossed, once (QuotaChanged): an operator who lowers a quota
// under a usage already past one of [mailbox] quota_warnings of the new
// one tells the subscriber, as mail taking it there would have. mailRoot
// is <data_dir>/mail: only a Maildir on this node gets the notice.
func (w *Warner) SetQuota(ctx context.Context, st QuotaStore, mailRoot, actor, addr string, bytes int64) error {
	account, normErr := address.Normalize(addr)
	var oldLimit int64
	var oldErr error = normErr
	if oldErr == nil {
		oldLimit, oldErr = st.MailboxQuota(ctx, account)
	}
	if err := st.SetAccountQuota(ctx, actor, addr, bytes); err != nil {
		return err
	}
	if oldErr != nil || !w.on(1) {
		return nil // set; no usage to judge against the old quota
	}
	newLimit, err := st.MailboxQuota(ctx, account)
	if err != nil {
		w.Log.Error("quota warning: the new quota", "account", account, "err", err)
		return nil
	}
	if dir, err := mailbox.Dir(mailRoot, account); err == nil {
		w.QuotaChanged(account, dir, oldLimit, newLimit)
	}
	return nil
}
