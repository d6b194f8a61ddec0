package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"mailgate/internal/address"
	"mailgate/internal/config"
)

// Versions 300-399: mailboxes.
func init() {
	// NULL: the node's default ([mailbox] quota); 0: unlimited.
	register(migration{Version: 300, Name: "mailbox quota", SQL: `
ALTER TABLE accounts ADD COLUMN quota_bytes BIGINT;
`})
}

// QuotaDefault, given to SetAccountQuota, makes an account use the node's
// default quota again.
const QuotaDefault int64 = -1

// SetDefaultMailboxQuota sets the quota, in octets, of accounts without
// their own (config [mailbox] quota); 0 is unlimited. Call it before the
// store is shared.
func (s *Store) SetDefaultMailboxQuota(bytes int64) { s.mailboxQuota = max(bytes, 0) }

// DefaultMailboxQuota is the quota of accounts without their own.
func (s *Store) DefaultMailboxQuota() int64 { return s.mailboxQuota }

// AccountQuota returns an account's own storage quota in octets (0:
// unlimited); own is false when it has none and the node's default
// (DefaultMailboxQuota) applies.
func (s *Store) AccountQuota(ctx context.Context, addr string) (bytes int64, own bool, err error) {
	norm, err := address.Normalize(addr)
	if err != nil {
		return 0, false, fmt.Errorf("account: %w", err)
	}
	var q sql.NullInt64
	err = s.queryRow(ctx, `SELECT quota_bytes FROM accounts WHERE address = ?`, norm).Scan(&q)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, fmt.Errorf("account %s: %w", norm, ErrNotFound)
	}
	if err != nil {
		return 0, false, err
	}
	return q.Int64, q.Valid, nil
}

// MailboxQuota is the storage quota, in octets, that holds for an account
// (a normalized address): its own, else the node's default; 0 is
// unlimited. Every delivery and IMAP APPEND asks, so answers are cached
// as Resolve's are.
func (s *Store) MailboxQuota(ctx context.Context, account string) (int64, error) {
	key := "q:" + account
	if v, err, ok := s.lookups.get(key); ok {
		if err != nil {
			return 0, err
		}
		return strconv.ParseInt(v, 10, 64)
	}
	own, ok, err := s.AccountQuota(ctx, account)
	if errors.Is(err, ErrNotFound) {
		s.lookups.put(key, "", err)
	}
	if err != nil {
		return 0, err
	}
	if !ok {
		own = s.mailboxQuota
	}
	s.lookups.put(key, strconv.FormatInt(own, 10), nil)
	return own, nil
}

// SetAccountQuota sets an account's storage quota in octets (0:
// unlimited; QuotaDefault: back to the node's default), audited as
// user.quota.
func (s *Store) SetAccountQuota(ctx context.Context, actor, addr string, bytes int64) error {
	var value any = bytes
	detail := strconv.FormatInt(bytes, 10)
	switch {
	case bytes == QuotaDefault:
		value, detail = nil, "default"
	case bytes == 0:
		detail = "unlimited"
	case bytes < 0:
		return fmt.Errorf("quota %d: %w (want octets, 0 for unlimited, or the default)", bytes, ErrInvalid)
	}
	return s.updateAccount(ctx, actor, addr, "user.quota", detail, `UPDATE accounts SET quota_bytes = ? WHERE address = ?`, value)
}

// ParseQuota reads a quota as the CLI, the admin API and the console take
// it: a size for config.ParseByteSize ("2GiB", "500MB", octets),
// "unlimited" (or 0), or "default" (QuotaDefault: the node's default).
// The one parser of the three, so they refuse the same things alike.
func ParseQuota(s string) (int64, error) {
	if strings.EqualFold(strings.TrimSpace(s), "default") {
		return QuotaDefault, nil
	}
	n, err := config.ParseByteSize(s)
	if err != nil {
		// The parser's words, then the two others this takes.
		return 0, fmt.Errorf("%w, \"unlimited\", or \"default\" for the node's [mailbox] quota: %w", err, ErrInvalid)
	}
	return n, nil
}

// FormatQuota writes a quota in force as ParseQuota reads it and the CLI,
// the admin API ("setting") and the console show it: "2GiB", "1000", or
// "unlimited" for 0.
func FormatQuota(bytes int64) string {
	if bytes == 0 {
		return "unlimited"
	}
	return config.FormatByteSize(bytes)
}
