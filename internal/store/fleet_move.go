package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"mailgate/internal/address"
)

// Moving a mailbox between nodes: BeginMove marks it (deliveries and
// logins then wait: internal/fleet treats a moving mailbox as
// temporarily unavailable), the old home copies the Maildir to the new
// one, and FinishMove switches the home in one transaction. AbortMove
// undoes the mark when the copy fails.

func init() {
	register(migration{Version: 701, Name: "mailbox moves", SQL: `
ALTER TABLE mailbox_homes ADD COLUMN moving_to TEXT`})
}

// ErrMoving is a mailbox being moved to another node.
var ErrMoving = errors.New("mailbox being moved")

// HomeState returns account's home and, during a move, its destination.
func (s *Store) HomeState(ctx context.Context, account string) (node, movingTo string, err error) {
	var to sql.NullString
	err = s.queryRow(ctx, `SELECT node, moving_to FROM mailbox_homes WHERE account = ?`, account).Scan(&node, &to)
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", fmt.Errorf("home of %s: %w", account, ErrNotFound)
	}
	return node, to.String, err
}

// BeginMove marks account as moving to node and returns its current home.
func (s *Store) BeginMove(ctx context.Context, actor, account, to string) (string, error) {
	norm, err := address.Normalize(account)
	if err != nil {
		return "", fmt.Errorf("account: %w", err)
	}
	var from string
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkHomeTx(ctx, tx, norm, to); err != nil {
			return err
		}
		var moving sql.NullString
		err := tx.QueryRowContext(ctx, s.q(`SELECT node, moving_to FROM mailbox_homes WHERE account = ?`), norm).Scan(&from, &moving)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("home of %s: %w; record where its Maildir is with `mailgate user home` first", norm, ErrNotFound)
		}
		if err != nil {
			return err
		}
		// The same move again resumes one cut short (a node crashed).
		if moving.Valid && moving.String != to {
			return fmt.Errorf("%s: %w to %s already; finish that move first (`mailgate user move %s %s`)", norm, ErrMoving, moving.String, norm, moving.String)
		}
		if from == to {
			return fmt.Errorf("%s is homed on %s already: %w", norm, to, ErrInvalid)
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE mailbox_homes SET moving_to = ? WHERE account = ?`), to, norm); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, actor, "user.move.begin", norm, from+" -> "+to)
	})
	return from, err
}

// FinishMove makes to the home of account, which must be moving from
// from to to, in one transaction, audited.
func (s *Store) FinishMove(ctx context.Context, actor, account, from, to string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.execFoundTx(ctx, tx, "move of "+account+" from "+from+" to "+to,
			`UPDATE mailbox_homes SET node = ?, moving_to = NULL, assigned_at = ? WHERE account = ? AND node = ? AND moving_to = ?`,
			to, s.now().Unix(), account, from, to); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, actor, "user.move", account, from+" -> "+to)
	})
}

// AbortMove clears a move mark: the mailbox stays where it was.
func (s *Store) AbortMove(ctx context.Context, actor, account, reason string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE mailbox_homes SET moving_to = NULL WHERE account = ?`), account); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, actor, "user.move.abort", account, reason)
	})
}
