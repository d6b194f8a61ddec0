package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// The compromised-account response's records (issue 11 §3): per-account
// events its signals are computed from (remote recipients submitted,
// remote recipients delivered and refused, networks logged in from), and
// the responses made, so that a password change lifts a sending
// suspension this response set, never one an operator set.

func init() {
	register(migration{Version: 204, Name: "compromise response", SQL: `
CREATE TABLE account_events (
	account TEXT NOT NULL,
	at BIGINT NOT NULL,
	kind TEXT NOT NULL,
	n INTEGER NOT NULL,
	detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX account_events_account ON account_events(account, kind, at);
CREATE INDEX account_events_at ON account_events(at);
CREATE TABLE compromise_responses (
	account TEXT PRIMARY KEY,
	signal TEXT NOT NULL,
	detail TEXT NOT NULL,
	at BIGINT NOT NULL,
	lifted_at BIGINT NOT NULL DEFAULT 0,
	lifted_by TEXT NOT NULL DEFAULT ''
)`})
}

// Kinds of account events.
const (
	EventSent      = "sent"      // remote recipients of an accepted submission
	EventDelivered = "delivered" // remote recipients a receiving server took
	EventRefused   = "refused"   // remote recipients a receiving server refused for good
	EventLogin     = "login"     // a successful login; detail: the client's network
)

// RecordAccountEvent notes n events of kind for account.
func (s *Store) RecordAccountEvent(ctx context.Context, account, kind string, n int, detail string) error {
	_, err := s.exec(ctx, `INSERT INTO account_events (account, at, kind, n, detail) VALUES (?, ?, ?, ?, ?)`, account, s.now().Unix(), kind, n, detail)
	return err
}

// AccountEvents sums account's events of kind in [from, to).
func (s *Store) AccountEvents(ctx context.Context, account, kind string, from, to time.Time) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COALESCE(SUM(n), 0) FROM account_events WHERE account = ? AND kind = ? AND at >= ? AND at < ?`,
		account, kind, from.Unix(), to.Unix()).Scan(&n)
	return n, err
}

// AccountEventDetails counts the distinct details of account's events of
// kind since then (the networks it logged in from).
func (s *Store) AccountEventDetails(ctx context.Context, account, kind string, since time.Time) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(DISTINCT detail) FROM account_events WHERE account = ? AND kind = ? AND at >= ?`,
		account, kind, since.Unix()).Scan(&n)
	return n, err
}

// PruneAccountEvents deletes events older than keep.
func (s *Store) PruneAccountEvents(ctx context.Context, keep time.Duration) error {
	_, err := s.exec(ctx, `DELETE FROM account_events WHERE at < ?`, s.now().Add(-keep).Unix())
	return err
}

// Compromise is one response made to a suspected compromise.
type Compromise struct {
	Account, Signal, Detail string
	At, LiftedAt            time.Time
	LiftedBy                string
}

// SuspendCompromised disables account's sending for a suspected
// compromise and records why, audited. It does nothing (false) when the
// account is not active: an operator's suspension, or this response's
// own, stands as it is.
func (s *Store) SuspendCompromised(ctx context.Context, actor, account, signal, detail string) (bool, error) {
	made := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE accounts SET status = ? WHERE address = ? AND status = ?`), StatusSendingDisabled, account, StatusActive)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		made = true
		now := s.now().Unix()
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM compromise_responses WHERE account = ?`), account); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO compromise_responses (account, signal, detail, at) VALUES (?, ?, ?, ?)`), account, signal, detail, now); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, actor, "abuse.compromise", account, StatusSendingDisabled+": "+signal+": "+detail)
	})
	return made, err
}

// CompromiseOf returns account's latest response, or ErrNotFound.
func (s *Store) CompromiseOf(ctx context.Context, account string) (*Compromise, error) {
	c := Compromise{Account: account}
	var at, lifted int64
	err := s.queryRow(ctx, `SELECT signal, detail, at, lifted_at, lifted_by FROM compromise_responses WHERE account = ?`, account).
		Scan(&c.Signal, &c.Detail, &at, &lifted, &c.LiftedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	c.At = time.Unix(at, 0)
	if lifted > 0 {
		c.LiftedAt = time.Unix(lifted, 0)
	}
	return &c, nil
}

// endCompromiseTx closes account's open response, if any. With restore,
// (a password change) it also makes the account active again when it is
// still sending-disabled; without (an operator set the status), the
// operator's status stands and a later password change leaves it.
func (s *Store) endCompromiseTx(ctx context.Context, tx *sql.Tx, actor, account, how string, restore bool) error {
	res, err := tx.ExecContext(ctx, s.q(`UPDATE compromise_responses SET lifted_at = ?, lifted_by = ? WHERE account = ? AND lifted_at = 0`),
		s.now().Unix(), how, account)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 || !restore {
		return nil
	}
	res, err = tx.ExecContext(ctx, s.q(`UPDATE accounts SET status = ? WHERE address = ? AND status = ?`), StatusActive, account, StatusSendingDisabled)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil
	}
	return s.auditTx(ctx, tx, actor, "abuse.compromise.lifted", account, "sending restored by "+how+"; held mail stays held until released or removed (mailgate queue release|remove)")
}
