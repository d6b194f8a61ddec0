package imapd

import (
	"context"
	"errors"

	"github.com/emersion/go-imap/v2"

	"mailgate/internal/mailbox"
)

// Quotas gives each account's mailbox storage quota in octets (0:
// unlimited): the store's MailboxQuota.
type Quotas interface {
	MailboxQuota(ctx context.Context, account string) (int64, error)
}

// errOverQuota is RFC 9208 §4.3.1: an APPEND or COPY that would take the
// account over its quota fails with a tagged NO [OVERQUOTA].
var errOverQuota = &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeOverQuota,
	Text: "Mailbox full: delete mail (and expunge it) to make room"}

// checkQuota says whether adding octets fits the account's quota: nil,
// errOverQuota, or the failure of a lookup (a NO without a code).
func (s *session) checkQuota(adding int64) error {
	if s.srv.Quotas == nil {
		return nil
	}
	limit, err := s.srv.Quotas.MailboxQuota(context.Background(), s.account)
	if err == nil {
		err = mailbox.CheckQuota(s.mailDir, limit, adding)
	}
	if errors.Is(err, mailbox.ErrOverQuota) {
		return errOverQuota
	}
	return err
}
