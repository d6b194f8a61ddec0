package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Abuse notices: which subscriber was told, when, at which grade (first
// notice, reminders), so a line that keeps hitting the port-25 block gets
// the next grade and not the same letter every run.

func init() {
	register(migration{Version: 202, Name: "abuse notices", SQL: `
CREATE TABLE abuse_notices (
	id {{serial}},
	username TEXT NOT NULL,
	account TEXT NOT NULL,
	grade INTEGER NOT NULL,
	attempts BIGINT NOT NULL,
	sent_at BIGINT NOT NULL
);
CREATE INDEX abuse_notices_username ON abuse_notices(username, sent_at)`})
}

// Notice is one notice sent to a subscriber.
type Notice struct {
	Username string
	Account  string
	Grade    int // 1: first notice, 2 and up: reminders
	Attempts uint64
	SentAt   time.Time
}

// LastNotice returns the newest notice sent to a subscriber, or
// ErrNotFound.
func (s *Store) LastNotice(ctx context.Context, username string) (*Notice, error) {
	n := Notice{Username: username}
	var attempts, at int64
	err := s.queryRow(ctx, `SELECT account, grade, attempts, sent_at FROM abuse_notices WHERE username = ? ORDER BY sent_at DESC, id DESC LIMIT 1`, username).
		Scan(&n.Account, &n.Grade, &attempts, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("no notice sent to %s: %w", username, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	n.Attempts, n.SentAt = uint64(attempts), time.Unix(at, 0)
	return &n, nil
}

// RecordNotice records a notice sent, audited.
func (s *Store) RecordNotice(ctx context.Context, actor string, n Notice) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO abuse_notices (username, account, grade, attempts, sent_at) VALUES (?, ?, ?, ?, ?)`),
			n.Username, n.Account, n.Grade, int64(n.Attempts), n.SentAt.Unix()); err != nil {
			return err
		}
		return s.auditTx(ctx, tx, actor, "abuse.notice", n.Username, fmt.Sprintf("grade %d to %s, %d blocked attempts", n.Grade, n.Account, n.Attempts))
	})
}
