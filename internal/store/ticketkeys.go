package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// TLS session ticket keys shared by the nodes of a fleet, so that a client
// resumes its TLS session (RFC 8446 §2.2) on whichever node the load
// balancer sends it to, and after a restart. Generations count up; the
// newest encrypts new tickets, the ones before it still decrypt. The
// primary key is the rotation's lock: nodes that find the newest key too
// old all try to insert the same next generation, and one row wins. The
// keys are secrets, like the DKIM private keys beside them, and never
// leave the store but through TLSTicketKeys.
func init() {
	register(migration{Version: 703, Name: "tls ticket keys", SQL: `
CREATE TABLE tls_ticket_keys (
	generation BIGINT PRIMARY KEY,
	secret {{blob}} NOT NULL,
	created_at BIGINT NOT NULL
);
`})
}

// TicketKeySize is the size of one session ticket key, as
// tls.Config.SetSessionTicketKeys takes it.
const TicketKeySize = 32

// TLSTicketKeys returns the session ticket keys to use, newest first: the
// current one and up to keep before it. When the newest is rotation old
// or older (or there is none) it first adds a new one, unless another
// node just did; keys more than keep generations behind are deleted.
func (s *Store) TLSTicketKeys(ctx context.Context, rotation time.Duration, keep int) ([][TicketKeySize]byte, error) {
	if rotation <= 0 || keep < 0 {
		return nil, fmt.Errorf("ticket keys rotated every %v, %d kept: %w", rotation, keep, ErrInvalid)
	}
	now := s.now()
	var newest, created int64
	err := s.queryRow(ctx, `SELECT generation, created_at FROM tls_ticket_keys ORDER BY generation DESC LIMIT 1`).Scan(&newest, &created)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("ticket keys: %w", err)
	}
	if errors.Is(err, sql.ErrNoRows) || now.Sub(time.Unix(created, 0)) >= rotation {
		var secret [TicketKeySize]byte
		rand.Read(secret[:])
		// Nodes racing here all insert generation newest+1: the first
		// commit wins and the others' rows are dropped, so one rotation
		// makes one key however many nodes noticed it was due.
		if _, err := s.exec(ctx, `INSERT INTO tls_ticket_keys (generation, secret, created_at) VALUES (?, ?, ?)
ON CONFLICT (generation) DO NOTHING`, newest+1, secret[:], now.Unix()); err != nil {
			return nil, fmt.Errorf("ticket keys: rotating: %w", err)
		}
		if _, err := s.exec(ctx, `DELETE FROM tls_ticket_keys WHERE generation < ?`, newest+1-int64(keep)); err != nil {
			return nil, fmt.Errorf("ticket keys: dropping old keys: %w", err)
		}
	}
	keys, err := queryList(ctx, s, func(r *sql.Rows) ([TicketKeySize]byte, error) {
		var b []byte
		var k [TicketKeySize]byte
		if err := r.Scan(&b); err != nil {
			return k, err
		}
		if len(b) != TicketKeySize {
			return k, fmt.Errorf("a ticket key of %d bytes, want %d", len(b), TicketKeySize)
		}
		copy(k[:], b)
		return k, nil
	}, `SELECT secret FROM tls_ticket_keys ORDER BY generation DESC LIMIT ?`, keep+1)
	if err != nil {
		return nil, fmt.Errorf("ticket keys: %w", err)
	}
	return keys, nil
}
