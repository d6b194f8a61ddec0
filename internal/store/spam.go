package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"mailgate/internal/address"
)

// Versions 400-499: the spam-check service (internal/scan).
func init() {
	register(migration{Version: 500, Name: "account spam settings", SQL: `
ALTER TABLE accounts ADD COLUMN spam_service INTEGER NOT NULL DEFAULT 1;
ALTER TABLE accounts ADD COLUMN spam_action TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN spam_threshold DOUBLE PRECISION NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN spam_tag TEXT NOT NULL DEFAULT '';
`})
}

// SpamSettings is a subscriber's choice for the spam-check service. The
// zero values of Action, Threshold and Tag mean the operator's defaults
// ([scan.spam] in the config), so a new account gets mail marked, not lost.
type SpamSettings struct {
	Enabled   bool    // the service is on (default)
	Action    string  // "", "header", "tag" or "junk"
	Threshold float64 // 0: the operator's threshold
	Tag       string  // "": the operator's subject tag
}

// SpamActions are the values SpamSettings.Action takes besides "".
var SpamActions = []string{"header", "tag", "junk"}

// Check says what is wrong with s, if anything.
func (s SpamSettings) Check() error {
	if s.Action != "" && !slices.Contains(SpamActions, s.Action) {
		return fmt.Errorf("spam action %q: %w (want %s)", s.Action, ErrInvalid, strings.Join(SpamActions, ", "))
	}
	if s.Threshold < 0 || s.Threshold > 1000 {
		return fmt.Errorf("spam threshold %v: %w (want 0-1000; 0 is the operator's default)", s.Threshold, ErrInvalid)
	}
	if len(s.Tag) > 40 || strings.ContainsFunc(s.Tag, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("spam tag %q: %w (at most 40 printable characters)", s.Tag, ErrInvalid)
	}
	return nil
}

// AccountSpam returns the spam settings of an account.
func (s *Store) AccountSpam(ctx context.Context, addr string) (SpamSettings, error) {
	var set SpamSettings
	norm, err := address.Normalize(addr)
	if err != nil {
		return set, fmt.Errorf("account: %w", err)
	}
	var on int
	err = s.queryRow(ctx, `SELECT spam_service, spam_action, spam_threshold, spam_tag FROM accounts WHERE address = ?`, norm).
		Scan(&on, &set.Action, &set.Threshold, &set.Tag)
	if errors.Is(err, sql.ErrNoRows) {
		return set, fmt.Errorf("account %s: %w", norm, ErrNotFound)
	}
	set.Enabled = on != 0
	return set, err
}

// SetAccountSpam replaces an account's spam settings, audited.
func (s *Store) SetAccountSpam(ctx context.Context, actor, addr string, set SpamSettings) error {
	if err := set.Check(); err != nil {
		return err
	}
	norm, err := address.Normalize(addr)
	if err != nil {
		return fmt.Errorf("account: %w", err)
	}
	on := 0
	if set.Enabled {
		on = 1
	}
	detail := fmt.Sprintf("service=%t action=%q threshold=%g tag=%q", set.Enabled, set.Action, set.Threshold, set.Tag)
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.execFoundTx(ctx, tx, "account "+norm,
			`UPDATE accounts SET spam_service = ?, spam_action = ?, spam_threshold = ?, spam_tag = ? WHERE address = ?`,
			on, set.Action, set.Threshold, set.Tag, norm); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, actor, "user.spam", norm, detail)
	})
}
