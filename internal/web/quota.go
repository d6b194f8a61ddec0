package web

import (
	"context"
	"net/http"
	"path/filepath"

	"mailgate/internal/address"
	"mailgate/internal/mailbox"
	"mailgate/internal/store"
)

// quotaWarnPercent is the usage at which webmail and the account page
// warn the subscriber (and say how to make room).
const quotaWarnPercent = 90

// quotaInfo is an account's storage quota and, where its Maildir is, its
// usage: the console, the admin API, webmail and the account page all
// show this one view.
type quotaInfo struct {
	Limit int64 // octets in force; 0: unlimited
	Own   bool  // the account's own, not [mailbox] quota
	// Usage is nil when the Maildir is on another node of the fleet
	// (HomeNode): it is read only where it lives, never copied.
	Usage    *mailbox.Usage
	HomeNode string
	// InWebmail: the subscriber's own page on a node without the
	// Maildir; webmail (served on the home node) shows the usage.
	InWebmail bool
}

// Percent is the share of the quota in use, rounded down (so 100 means
// full); 0 when unlimited or the usage is not known here.
func (q quotaInfo) Percent() int {
	if q.Limit <= 0 || q.Usage == nil {
		return 0
	}
	if q.Usage.Bytes >= q.Limit {
		return 100
	}
	// Both fit in 62 bits (config.ParseByteSize); scale down before
	// multiplying so huge quotas do not overflow.
	used, limit := q.Usage.Bytes, q.Limit
	for used > (1<<62)/100 {
		used, limit = used>>10, limit>>10
	}
	return int(used * 100 / limit)
}

// Warn: the mailbox is nearly full and the subscriber should make room.
func (q quotaInfo) Warn() bool {
	return q.Limit > 0 && q.Usage != nil && q.Percent() >= quotaWarnPercent
}

// LimitSetting is the quota as the CLI writes it: "2GiB", "unlimited".
func (q quotaInfo) LimitSetting() string { return store.FormatQuota(q.Limit) }

// quotaPanel is what the quota_usage template gets: the page's language
// and the quota (nil: nothing is shown).
type quotaPanel struct {
	L Lang
	Q *quotaInfo
}

func init() {
	pageFuncs["quotaPanel"] = func(l Lang, q *quotaInfo) quotaPanel { return quotaPanel{l, q} }
}

// subscriberQuota is the session account's quota for its own pages
// (webmail, My account): nil when it has none (unlimited) or it cannot
// be read (logged: the page is shown without it).
func (s *Server) subscriberQuota(r *http.Request) *quotaInfo {
	acct := s.session(r).Account
	// The cached quota in force: a subscriber's page needs neither the
	// store's row (own or default) nor, without a quota, the Maildir.
	limit, err := s.st.MailboxQuota(r.Context(), acct)
	if err != nil {
		s.log.Warn("web: mailbox quota", "account", acct, "err", err)
		return nil
	}
	if limit == 0 {
		return nil
	}
	q := quotaInfo{Limit: limit}
	if err := s.addUsage(r.Context(), acct, &q); err != nil {
		s.log.Warn("web: mailbox usage", "account", acct, "err", err)
		return nil
	}
	if q.Usage == nil {
		// A node name means nothing to a subscriber: webmail, proxied to
		// the home node, shows the usage.
		q.HomeNode, q.InWebmail = "", true
	}
	return &q
}

// quotaOf reads an account's quota from the store (its own or the
// default) and its usage (addUsage).
func (s *Server) quotaOf(ctx context.Context, acct string) (quotaInfo, error) {
	var q quotaInfo
	own, ok, err := s.st.AccountQuota(ctx, acct)
	if err != nil {
		return q, err
	}
	q.Limit, q.Own = own, ok
	if !ok {
		q.Limit = s.st.DefaultMailboxQuota()
	}
	return q, s.addUsage(ctx, acct, &q)
}

// addUsage sets q's usage from the Maildir when it is on this node (every
// account on a node alone; in a fleet, those homed here), or else the
// home node's name.
func (s *Server) addUsage(ctx context.Context, acct string, q *quotaInfo) error {
	acct, err := address.Normalize(acct)
	if err != nil {
		return err
	}
	if s.MailHome != nil {
		if q.HomeNode, err = s.MailHome(ctx, acct); err != nil {
			return err
		}
		if q.HomeNode != "" {
			return nil
		}
	}
	u, err := s.localUsage(acct)
	if err != nil {
		return err
	}
	q.Usage = &u
	return nil
}

// localUsage is the usage of an account's Maildir on this node (none
// when it has no Maildir yet: AccountUsage says so).
func (s *Server) localUsage(acct string) (mailbox.Usage, error) {
	dir, err := mailbox.Dir(filepath.Join(s.cfg.DataDir, "mail"), acct)
	if err != nil {
		return mailbox.Usage{}, err
	}
	return mailbox.AccountUsage(dir)
}
