package imapd

import (
	"context"
	"errors"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"

	"mailgate/internal/mailbox"
)

var _ imapserver.SessionQuota = (*session)(nil)

// quotaRoot is the one quota root of an account (RFC 9208 §3.2): every
// folder of the account shares it, as the quota is on the whole Maildir.
const quotaRoot = ""

var errNoQuotaRoot = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeNonExistent,
	Text: "No such quota root"}

// QuotaResourceTypes is STORAGE (RFC 9208 §5.1): octets are limited, the
// number of messages is not.
func (s *session) QuotaResourceTypes() []imap.QuotaResourceType {
	if s.srv.Quotas == nil {
		return nil
	}
	return []imap.QuotaResourceType{imap.QuotaResourceStorage}
}

// QuotaRoots serves GETQUOTAROOT (RFC 9208 §4.1.2): the account's root
// for any of its folders, none when the account is unlimited.
func (s *session) QuotaRoots(name string) (_ []string, err error) {
	defer s.logFailure("GETQUOTAROOT", &err)
	if !mailbox.IsInbox(name) && !mailbox.FolderExists(s.mailDir, name) {
		return nil, errTryCreate
	}
	limit, err := s.srv.Quotas.MailboxQuota(context.Background(), s.account)
	if err != nil || limit == 0 {
		return []string{}, err
	}
	return []string{quotaRoot}, nil
}

// Quota serves GETQUOTA (RFC 9208 §4.1.1): STORAGE in units of 1024
// octets (§5.1), the usage rounded up so that a mailbox at its limit
// shows the limit.
func (s *session) Quota(root string) (_ []imapserver.QuotaResource, err error) {
	defer s.logFailure("GETQUOTA", &err)
	if root != quotaRoot {
		return nil, errNoQuotaRoot
	}
	limit, err := s.srv.Quotas.MailboxQuota(context.Background(), s.account)
	if err != nil {
		return nil, err
	}
	if limit == 0 {
		return nil, errNoQuotaRoot
	}
	u, err := mailbox.AccountUsage(s.mailDir)
	if err != nil {
		return nil, err
	}
	return []imapserver.QuotaResource{{Type: imap.QuotaResourceStorage, Usage: (u.Bytes + 1023) / 1024, Limit: max(limit/1024, 1)}}, nil
}

// Quotas gives each account's mailbox storage quota in octets (0:
// unlimited): the store's MailboxQuota.
type Quotas interface {
	MailboxQuota(ctx context.Context, account string) (int64, error)
}

// errOverQuota is RFC 9208 §4.3.1: an APPEND or COPY that would take the
// account over its quota fails with a tagged NO [OVERQUOTA].
var errOverQuota = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeOverQuota,
	Text: "Mailbox full: delete mail (and expunge it) to make room"}

// quotaLimit is the account's quota in octets (0: unlimited, and when no
// Quotas are set).
func (s *session) quotaLimit() (int64, error) {
	if s.srv.Quotas == nil {
		return 0, nil
	}
	return s.srv.Quotas.MailboxQuota(context.Background(), s.account)
}

// quotaError maps mailbox.ErrOverQuota to RFC 9208 §4.3.1's
// [OVERQUOTA]; a lookup's failure stays a NO without a code.
func quotaError(err error) error {
	if errors.Is(err, mailbox.ErrOverQuota) {
		return errOverQuota
	}
	return err
}

// reserveQuota says whether adding octets fits the account's quota and
// holds them until release (mailbox.ReserveQuota), so that APPENDs and
// COPYs of several sessions at once cannot pass the check together: nil,
// errOverQuota, or the failure of a lookup (a NO without a code). It
// returns the account's quota (0: unlimited) for warnQuota. release is
// never nil. APPEND uses it: its literal comes after the check, at the
// client's pace, so the warning lock is taken only once it is staged.
func (s *session) reserveQuota(adding int64) (limit int64, release func(), err error) {
	if limit, err = s.quotaLimit(); err != nil {
		return 0, func() {}, err
	}
	release, err = mailbox.ReserveQuota(s.mailDir, limit, adding)
	return limit, release, quotaError(err)
}

// warnQuota is called just before an APPEND that reserveQuota let
// through is made: with quota warnings on ([mailbox] quota_warnings) it
// locks the account's usage (quotawarn.Watch) and done, never nil, called
// with what the change added (nothing if it failed), stores the notice in
// INBOX if the change took the usage past one, as Dovecot's
// quota_warning runs on any change that raises the usage.
func (s *session) warnQuota(limit int64) (done func(added mailbox.Usage)) {
	return s.srv.QuotaWarner.Watch(s.account, s.mailDir, limit)
}

// reserveQuotaWarned is reserveQuota and warnQuota in one step
// (quotawarn.Warner.Reserve), for a change with no slow part between the
// check and the change (COPY): the usage is read once, under the warning
// lock, and serves both the check and the warning. done, never nil,
// releases the octets; call it with what the change added.
func (s *session) reserveQuotaWarned(adding int64) (done func(added mailbox.Usage), err error) {
	limit, err := s.quotaLimit()
	if err != nil {
		return func(mailbox.Usage) {}, err
	}
	done, err = s.srv.QuotaWarner.Reserve(s.account, s.mailDir, limit, adding)
	return done, quotaError(err)
}
