package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Login failure counters, shared by every node of a fleet: a password
// guesser spreading its tries over the nodes behind one name is counted
// once. The rules (what is counted, thresholds, delays) are package
// login's; the store only counts, atomically.

func init() {
	register(migration{Version: 203, Name: "login failures", SQL: `
CREATE TABLE login_failures (
	counter TEXT PRIMARY KEY,
	scope TEXT NOT NULL,
	source TEXT NOT NULL,
	account TEXT NOT NULL,
	failures INTEGER NOT NULL,
	first_at BIGINT NOT NULL,
	last_at BIGINT NOT NULL,
	blocked_until BIGINT NOT NULL DEFAULT 0,
	reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX login_failures_source ON login_failures(source);
CREATE INDEX login_failures_last_at ON login_failures(last_at)`})
}

// Scopes of a login failure counter.
const (
	LoginScopeAddress = "address" // one IPv4 address or IPv6 /64
	LoginScopeNetwork = "network" // its IPv4 /24 or IPv6 /48
	LoginScopeAccount = "account" // one (address, account) pair
)

// LoginKey names one counter: its scope, the source (an address or a
// prefix, as text) and, for LoginScopeAccount, the account.
type LoginKey struct {
	Scope, Source, Account string
}

// ID is the counter's primary key.
func (k LoginKey) ID() string {
	if k.Scope == LoginScopeAccount {
		return k.Scope + ":" + k.Source + "|" + k.Account
	}
	return k.Scope + ":" + k.Source
}

// LoginCounter is one counter's state. Failures counts failures each less
// than the window after the one before (see AddLoginFailures).
type LoginCounter struct {
	LoginKey
	Failures     int
	FirstAt      time.Time
	LastAt       time.Time
	BlockedUntil time.Time // zero: never blocked
	Reason       string    // why it was blocked
}

// Blocked reports whether the counter blocks logins at now.
func (c LoginCounter) Blocked(now time.Time) bool { return c.BlockedUntil.After(now) }

const loginCols = `counter, scope, source, account, failures, first_at, last_at, blocked_until, reason`

func scanLoginCounter(row interface{ Scan(...any) error }) (LoginCounter, error) {
	var c LoginCounter
	var id string
	var first, last, until int64
	err := row.Scan(&id, &c.Scope, &c.Source, &c.Account, &c.Failures, &first, &last, &until, &c.Reason)
	c.FirstAt, c.LastAt = time.Unix(first, 0), time.Unix(last, 0)
	if until > 0 {
		c.BlockedUntil = time.Unix(until, 0)
	}
	return c, err
}

// LoginCounters returns the counters that exist among keys, by ID.
func (s *Store) LoginCounters(ctx context.Context, keys []LoginKey) (map[string]LoginCounter, error) {
	out := make(map[string]LoginCounter, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	// One statement per key count: logins always ask for the same three.
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k.ID()
	}
	rows, err := s.query(ctx, `SELECT `+loginCols+` FROM login_failures WHERE counter IN (?`+strings.Repeat(", ?", len(keys)-1)+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanLoginCounter(rows)
		if err != nil {
			return nil, err
		}
		out[c.ID()] = c
	}
	return out, rows.Err()
}

// AddLoginFailures counts one failure on each key, in one transaction, and
// returns the counters after it. A counter whose last failure is window
// or more ago starts again from one, so slow guessing (one try a little
// under the window apart) still adds up.
func (s *Store) AddLoginFailures(ctx context.Context, keys []LoginKey, window time.Duration) ([]LoginCounter, error) {
	now := s.now()
	stale := now.Add(-window).Unix()
	var out []LoginCounter
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			row := tx.QueryRowContext(ctx, s.q(`INSERT INTO login_failures (counter, scope, source, account, failures, first_at, last_at)
VALUES (?, ?, ?, ?, 1, ?, ?)
ON CONFLICT (counter) DO UPDATE SET
	failures = CASE WHEN login_failures.last_at <= ? THEN 1 ELSE login_failures.failures + 1 END,
	first_at = CASE WHEN login_failures.last_at <= ? THEN excluded.first_at ELSE login_failures.first_at END,
	last_at = excluded.last_at
RETURNING `+loginCols), k.ID(), k.Scope, k.Source, k.Account, now.Unix(), now.Unix(), stale, stale)
			c, err := scanLoginCounter(row)
			if err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// BlockLogins blocks the counter until then, unless it is blocked already,
// and audits it. It reports whether this call made the block, so that of
// several nodes reaching the threshold together exactly one logs it.
func (s *Store) BlockLogins(ctx context.Context, actor string, k LoginKey, until time.Time, reason string) (bool, error) {
	made := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE login_failures SET blocked_until = ?, reason = ? WHERE counter = ? AND blocked_until <= ?`),
			until.Unix(), reason, k.ID(), s.now().Unix())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		made = true
		subject := k.Source
		if k.Account != "" {
			subject += " " + k.Account
		}
		return s.auditTx(ctx, tx, actor, "login.block", subject, fmt.Sprintf("%s until %s: %s", k.Scope, until.UTC().Format(time.RFC3339), reason))
	})
	return made, err
}

// ClearLoginFailures forgets a pair's failures after its successful login,
// and takes as many off its parents (address, network): a user's own
// typos are forgiven at every level, while failures against other
// accounts from the same source still count.
func (s *Store) ClearLoginFailures(ctx context.Context, pair LoginKey, parents []LoginKey) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		err := tx.QueryRowContext(ctx, s.q(`SELECT failures FROM login_failures WHERE counter = ? AND blocked_until <= ?`), pair.ID(), s.now().Unix()).Scan(&n)
		if err == sql.ErrNoRows {
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM login_failures WHERE counter = ?`), pair.ID()); err != nil {
			return err
		}
		for _, p := range parents {
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE login_failures SET failures = CASE WHEN failures > ? THEN failures - ? ELSE 0 END WHERE counter = ?`), n, n, p.ID()); err != nil {
				return err
			}
		}
		return nil
	})
}

// LoginBlocks lists the blocks in force, soonest to end first.
func (s *Store) LoginBlocks(ctx context.Context) ([]LoginCounter, error) {
	rows, err := s.query(ctx, `SELECT `+loginCols+` FROM login_failures WHERE blocked_until > ? ORDER BY blocked_until, counter`, s.now().Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LoginCounter
	for rows.Next() {
		c, err := scanLoginCounter(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RemoveLoginBlocks lifts every block and forgets every count held against
// source (an address or prefix as LoginKey.Source spells it), pairs with
// any account included, and audits it. It returns how many counters went.
func (s *Store) RemoveLoginBlocks(ctx context.Context, actor, source string) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM login_failures WHERE source = ?`), source)
		if err != nil {
			return err
		}
		if n, _ = res.RowsAffected(); n == 0 {
			return fmt.Errorf("no login failures or blocks for %s: %w (see mailgate abuse blocks list)", source, ErrNotFound)
		}
		return s.auditTx(ctx, tx, actor, "login.unblock", source, fmt.Sprintf("%d counters removed", n))
	})
	return int(n), err
}

// PruneLoginFailures deletes counters neither blocking nor touched within
// window: they would start again from one anyway.
func (s *Store) PruneLoginFailures(ctx context.Context, window time.Duration) error {
	now := s.now()
	_, err := s.exec(ctx, `DELETE FROM login_failures WHERE last_at <= ? AND blocked_until <= ?`, now.Add(-window).Unix(), now.Unix())
	return err
}
