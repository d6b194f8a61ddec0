package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"mailgate/internal/address"
	"mailgate/internal/sieve"
)

// Sieve scripts live in the store so every node of a fleet runs the same
// active script (issue 10 §2). At most one script per account is active:
// the partial unique index holds that on both databases.
func init() {
	register(migration{Version: 800, Name: "sieve scripts", SQL: `
CREATE TABLE sieve_scripts (
	account TEXT NOT NULL REFERENCES accounts(address) ON DELETE CASCADE,
	name TEXT NOT NULL,
	content TEXT NOT NULL,
	active INTEGER NOT NULL DEFAULT 0,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (account, name)
);
CREATE UNIQUE INDEX sieve_scripts_one_active ON sieve_scripts(account) WHERE active = 1;
`}, migration{Version: 801, Name: "sieve vacation replies", SQL: `
CREATE TABLE sieve_vacation_sent (
	account TEXT NOT NULL REFERENCES accounts(address) ON DELETE CASCADE,
	handle TEXT NOT NULL,
	sender TEXT NOT NULL,
	sent_at BIGINT NOT NULL,
	PRIMARY KEY (account, handle, sender)
);
`})
}

// The default quotas on an account's scripts (RFC 5804 §1.6 lets a server
// set them); config [sieve] may set others (SetSieveQuota).
const (
	MaxSieveScripts    = 16
	MaxSieveScriptSize = 64 << 10
	maxSieveNameLen    = 128
)

// SieveQuota bounds an account's scripts: how many, and the size of each.
type SieveQuota struct {
	MaxScripts     int
	MaxScriptBytes int
}

// DefaultSieveQuota is the quota of a store nobody set one on.
var DefaultSieveQuota = SieveQuota{MaxScripts: MaxSieveScripts, MaxScriptBytes: MaxSieveScriptSize}

// SetSieveQuota sets the quotas PutSieveScript enforces (config [sieve]);
// zero fields keep the defaults. Call it before the store is shared.
func (s *Store) SetSieveQuota(q SieveQuota) {
	if q.MaxScripts <= 0 {
		q.MaxScripts = MaxSieveScripts
	}
	if q.MaxScriptBytes <= 0 {
		q.MaxScriptBytes = MaxSieveScriptSize
	}
	s.sieveQuota = &q
}

// SieveQuota is the quota this store enforces.
func (s *Store) SieveQuota() SieveQuota {
	if s.sieveQuota == nil {
		return DefaultSieveQuota
	}
	return *s.sieveQuota
}

// SieveScript is one stored script.
type SieveScript struct {
	Name    string
	Content string
	Active  bool
	Updated time.Time
}

// checkSieveName applies RFC 5804 §1.6: a script name is non-empty UTF-8
// without control characters; we also bound its length.
func checkSieveName(name string) error {
	if name == "" || len(name) > maxSieveNameLen || !utf8.ValidString(name) {
		return fmt.Errorf("script name %q: %w: 1 to %d bytes of UTF-8", name, ErrInvalid, maxSieveNameLen)
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == 0x2028 || r == 0x2029 {
			return fmt.Errorf("script name %q: %w: no control characters", name, ErrInvalid)
		}
	}
	return nil
}

// CheckSieveScript is the one check a script passes before it is stored:
// the default size quota and the Sieve compiler (its error names
// line:column).
func CheckSieveScript(content string) error { return DefaultSieveQuota.Check(content) }

// Check is the one check a script passes before it is stored: the size
// quota and the Sieve compiler (its error names line:column).
func (q SieveQuota) Check(content string) error {
	if len(content) > q.MaxScriptBytes {
		return fmt.Errorf("script: %w: %d bytes, the limit is %d", ErrInvalid, len(content), q.MaxScriptBytes)
	}
	if _, err := sieve.Compile(content); err != nil {
		return fmt.Errorf("script: %w: %v", ErrInvalid, err)
	}
	return nil
}

// PutSieveScript stores a script under name, replacing one of that name
// (which stays active if it was).
func (s *Store) PutSieveScript(ctx context.Context, actor, account, name, content string) error {
	norm, err := address.Normalize(account)
	if err != nil {
		return fmt.Errorf("account: %w", err)
	}
	if err := checkSieveName(name); err != nil {
		return err
	}
	quota := s.SieveQuota()
	if err := quota.Check(content); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var accounts, others int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT (SELECT COUNT(*) FROM accounts WHERE address = ?), (SELECT COUNT(*) FROM sieve_scripts WHERE account = ? AND name <> ?)`),
			norm, norm, name).Scan(&accounts, &others); err != nil {
			return err
		}
		if accounts == 0 {
			return fmt.Errorf("account %s: %w", norm, ErrNotFound)
		}
		if others >= quota.MaxScripts {
			return fmt.Errorf("account %s has %d scripts: %w; the limit is %d, delete one first", norm, others, ErrInUse, quota.MaxScripts)
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE sieve_scripts SET content = ?, updated_at = ? WHERE account = ? AND name = ?`),
			content, s.now().Unix(), norm, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO sieve_scripts (account, name, content, active, updated_at) VALUES (?, ?, ?, 0, ?)`),
				norm, name, content, s.now().Unix()); err != nil {
				return err
			}
		}
		return s.auditTx(ctx, tx, actor, "sieve.put", norm, name)
	})
}

// SieveScript returns one script of an account.
func (s *Store) SieveScript(ctx context.Context, account, name string) (*SieveScript, error) {
	norm, err := address.Normalize(account)
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	sc := SieveScript{Name: name}
	var active, updated int64
	err = s.queryRow(ctx, `SELECT content, active, updated_at FROM sieve_scripts WHERE account = ? AND name = ?`, norm, name).
		Scan(&sc.Content, &active, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("script %q of %s: %w", name, norm, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	sc.Active, sc.Updated = active == 1, time.Unix(updated, 0)
	return &sc, nil
}

// SieveScripts lists an account's scripts by name, without their content.
func (s *Store) SieveScripts(ctx context.Context, account string) ([]SieveScript, error) {
	norm, err := address.Normalize(account)
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	rows, err := s.query(ctx, `SELECT name, active, updated_at FROM sieve_scripts WHERE account = ? ORDER BY name`, norm)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []SieveScript
	for rows.Next() {
		var sc SieveScript
		var active, updated int64
		if err := rows.Scan(&sc.Name, &active, &updated); err != nil {
			return nil, err
		}
		sc.Active, sc.Updated = active == 1, time.Unix(updated, 0)
		out = append(out, sc)
	}
	if err := rows.Err(); err != nil || len(out) > 0 {
		return out, err
	}
	// None: say so when the account itself is unknown (a typo would
	// otherwise read as "no scripts").
	if _, err := s.Account(ctx, norm); err != nil {
		return nil, err
	}
	return nil, nil
}

// ActiveSieveScript returns the account's active script, ErrNotFound when
// it has none (delivery then keeps everything in INBOX).
func (s *Store) ActiveSieveScript(ctx context.Context, account string) (*SieveScript, error) {
	norm, err := address.Normalize(account)
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	// Most accounts have no script, and every delivery asks: that answer
	// is kept as the domain and recipient lookups are (lookupCache; a
	// change through this Store empties it at once).
	if _, err, ok := s.lookups.get("s:" + norm); ok {
		return nil, err
	}
	sc := SieveScript{Active: true}
	var updated int64
	err = s.queryRow(ctx, `SELECT name, content, updated_at FROM sieve_scripts WHERE account = ? AND active = 1`, norm).
		Scan(&sc.Name, &sc.Content, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("active script of %s: %w", norm, ErrNotFound)
		s.lookups.put("s:"+norm, "", err)
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	sc.Updated = time.Unix(updated, 0)
	return &sc, nil
}

// ActivateSieveScript makes name the account's one active script; "" makes
// none active (RFC 5804 §2.8).
func (s *Store) ActivateSieveScript(ctx context.Context, actor, account, name string) error {
	norm, err := address.Normalize(account)
	if err != nil {
		return fmt.Errorf("account: %w", err)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE sieve_scripts SET active = 0 WHERE account = ? AND active = 1`), norm); err != nil {
			return err
		}
		if name != "" {
			if err := s.execFoundTx(ctx, tx, fmt.Sprintf("script %q of %s", name, norm),
				`UPDATE sieve_scripts SET active = 1 WHERE account = ? AND name = ?`, norm, name); err != nil {
				return err
			}
		}
		return s.auditTx(ctx, tx, actor, "sieve.activate", norm, name)
	})
}

// DeleteSieveScript removes a script; the active one must be deactivated
// first (RFC 5804 §2.10).
func (s *Store) DeleteSieveScript(ctx context.Context, actor, account, name string) error {
	norm, err := address.Normalize(account)
	if err != nil {
		return fmt.Errorf("account: %w", err)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var active int64
		err := tx.QueryRowContext(ctx, s.q(`SELECT active FROM sieve_scripts WHERE account = ? AND name = ?`), norm, name).Scan(&active)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("script %q of %s: %w", name, norm, ErrNotFound)
		}
		if err != nil {
			return err
		}
		if active == 1 {
			return fmt.Errorf("script %q of %s is active: %w; activate another (or none) first", name, norm, ErrInUse)
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM sieve_scripts WHERE account = ? AND name = ?`), norm, name); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, actor, "sieve.delete", norm, name)
	})
}

// VacationDue decides whether a vacation reply (RFC 5230) identified by
// handle may go from account to sender now: not when one went within
// period (RFC 5230 §4.1: once per sender per :days). When it may, the
// reply is recorded as sent in the same transaction, so two nodes or a
// retried delivery never both send it. A crash before the reply is queued
// loses that reply rather than ever sending two.
func (s *Store) VacationDue(ctx context.Context, account, handle, sender string, period time.Duration) (bool, error) {
	norm, err := address.Normalize(account)
	if err != nil {
		return false, fmt.Errorf("account: %w", err)
	}
	sender = strings.ToLower(sender)
	now := s.now()
	due := false
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		var last int64
		err := tx.QueryRowContext(ctx, s.q(`SELECT sent_at FROM sieve_vacation_sent WHERE account = ? AND handle = ? AND sender = ?`),
			norm, handle, sender).Scan(&last)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO sieve_vacation_sent (account, handle, sender, sent_at) VALUES (?, ?, ?, ?)`),
				norm, handle, sender, now.Unix())
			if isUniqueViolation(err) {
				return nil // another node answered at this moment
			}
			due = err == nil
			return err
		case err != nil:
			return err
		case now.Sub(time.Unix(last, 0)) < period:
			return nil
		}
		res, err := tx.ExecContext(ctx, s.q(`UPDATE sieve_vacation_sent SET sent_at = ? WHERE account = ? AND handle = ? AND sender = ? AND sent_at = ?`),
			now.Unix(), norm, handle, sender, last)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		due = n == 1
		return nil
	})
	return due, err
}

// RenameSieveScript renames a script, keeping whether it is active (RFC
// 5804 §2.11.1).
func (s *Store) RenameSieveScript(ctx context.Context, actor, account, from, to string) error {
	norm, err := address.Normalize(account)
	if err != nil {
		return fmt.Errorf("account: %w", err)
	}
	if err := checkSieveName(to); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM sieve_scripts WHERE account = ? AND name = ?`), norm, to).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("script %q of %s: %w", to, norm, ErrExists)
		}
		if err := s.execFoundTx(ctx, tx, fmt.Sprintf("script %q of %s", from, norm),
			`UPDATE sieve_scripts SET name = ? WHERE account = ? AND name = ?`, to, norm, from); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, actor, "sieve.rename", norm, from+" -> "+to)
	})
}

// rulesScript is the script the filter rules go into when the account has
// no active script yet.
const rulesScript = "rules"

// FilterRules lists the managed rules of the account's active script.
func (s *Store) FilterRules(ctx context.Context, account string) ([]sieve.Rule, error) {
	sc, err := s.ActiveSieveScript(ctx, account)
	if errors.Is(err, ErrNotFound) {
		// No rules, or no such account: say which.
		if _, err := s.Account(ctx, account); err != nil {
			return nil, err
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return sieve.Rules(sc.Content)
}

// AddFilterRule appends a rule to the managed section of the account's
// active script, creating and activating a script "rules" when it has none.
func (s *Store) AddFilterRule(ctx context.Context, actor, account string, r sieve.Rule) error {
	if err := sieve.CheckRule(r); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return s.editRules(ctx, actor, account, "filter.add", func(rules []sieve.Rule) ([]sieve.Rule, error) {
		return append(rules, r), nil
	})
}

// RemoveFilterRule removes rule n (1-based, as FilterRules lists them).
func (s *Store) RemoveFilterRule(ctx context.Context, actor, account string, n int) error {
	return s.editRules(ctx, actor, account, "filter.remove", func(rules []sieve.Rule) ([]sieve.Rule, error) {
		if n < 1 || n > len(rules) {
			return nil, fmt.Errorf("rule %d: %w (there are %d)", n, ErrNotFound, len(rules))
		}
		return append(rules[:n-1:n-1], rules[n:]...), nil
	})
}

// editRules rewrites the managed section of the active script in one
// transaction, so two editors never lose each other's rules.
func (s *Store) editRules(ctx context.Context, actor, account, action string, edit func([]sieve.Rule) ([]sieve.Rule, error)) error {
	norm, err := address.Normalize(account)
	if err != nil {
		return fmt.Errorf("account: %w", err)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var accounts int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM accounts WHERE address = ?`), norm).Scan(&accounts); err != nil {
			return err
		}
		if accounts == 0 {
			return fmt.Errorf("account %s: %w", norm, ErrNotFound)
		}
		name, content := rulesScript, ""
		err := tx.QueryRowContext(ctx, s.q(`SELECT name, content FROM sieve_scripts WHERE account = ? AND active = 1`), norm).Scan(&name, &content)
		exists := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if !exists {
			// A script named "rules" that is not active would be replaced
			// unseen: refuse instead.
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM sieve_scripts WHERE account = ? AND name = ?`), norm, name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("%s has an inactive script %q and no active one: %w; activate a script first (mailgate sieve activate)", norm, name, ErrExists)
			}
		}
		rules, err := sieve.Rules(content)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		if rules, err = edit(rules); err != nil {
			return err
		}
		updated, err := sieve.WithRules(content, rules)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		if err := s.SieveQuota().Check(updated); err != nil {
			return err
		}
		now := s.now().Unix()
		if exists {
			_, err = tx.ExecContext(ctx, s.q(`UPDATE sieve_scripts SET content = ?, updated_at = ? WHERE account = ? AND name = ?`), updated, now, norm, name)
		} else {
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO sieve_scripts (account, name, content, active, updated_at) VALUES (?, ?, ?, 1, ?)`), norm, name, updated, now)
		}
		if err != nil {
			return err
		}
		return s.auditTx(ctx, tx, actor, action, norm, name)
	})
}
