package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// Blocked port-25 attempts per source, as each edge router's kernel
// counted them (`mailgate edge run` records them), so the abuse desk sees
// every router at once and beyond the kernel's window. Only addresses,
// counts and times are kept, never content (secrecy of communications).

func init() {
	register(migration{Version: 101, Name: "edge attempts", SQL: `
CREATE TABLE edge_attempts (
	router TEXT NOT NULL,
	source TEXT NOT NULL,
	pool TEXT NOT NULL,
	attempts BIGINT NOT NULL,
	destinations INTEGER NOT NULL,
	first_seen BIGINT NOT NULL,
	last_seen BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (router, source)
);
CREATE INDEX edge_attempts_last ON edge_attempts(last_seen);
`})
}

// AttemptRecord is one source's blocked attempts as seen by one router
// (Routers is filled by AttemptsReport: how many routers saw it).
type AttemptRecord struct {
	Source       netip.Addr
	Pool         string
	Attempts     uint64
	Destinations int
	FirstSeen    time.Time
	LastSeen     time.Time
	Routers      int
}

// RecordAttempts merges a router's current kernel counts into the store.
// The kernel forgets a source after its window and then counts from zero;
// a count whose first attempt is after the stored last one is such a new
// episode and is added, otherwise the larger count stands.
func (s *Store) RecordAttempts(ctx context.Context, router string, recs []AttemptRecord) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.now().Unix()
		for _, r := range recs {
			src := r.Source.String()
			var old AttemptRecord
			var first, last int64
			err := tx.QueryRowContext(ctx, s.q(`SELECT attempts, destinations, first_seen, last_seen FROM edge_attempts WHERE router = ? AND source = ?`), router, src).
				Scan(&old.Attempts, &old.Destinations, &first, &last)
			n := r
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return err
			default:
				if r.FirstSeen.Unix() > last {
					n.Attempts = old.Attempts + r.Attempts
				} else {
					n.Attempts = max(old.Attempts, r.Attempts)
				}
				n.Destinations = max(old.Destinations, r.Destinations)
				if first < r.FirstSeen.Unix() || r.FirstSeen.IsZero() {
					n.FirstSeen = time.Unix(first, 0)
				}
				if last > r.LastSeen.Unix() {
					n.LastSeen = time.Unix(last, 0)
				}
				if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM edge_attempts WHERE router = ? AND source = ?`), router, src); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO edge_attempts (router, source, pool, attempts, destinations, first_seen, last_seen, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
				router, src, n.Pool, int64(n.Attempts), n.Destinations, n.FirstSeen.Unix(), n.LastSeen.Unix(), now); err != nil {
				return fmt.Errorf("record attempts of %s: %w", src, err)
			}
		}
		return nil
	})
}

// AttemptsReport lists sources over all routers, most attempts first; at
// most limit rows (0: all).
func (s *Store) AttemptsReport(ctx context.Context, limit int) ([]AttemptRecord, error) {
	if limit <= 0 {
		limit = 1 << 30
	}
	rows, err := s.query(ctx, `SELECT source, MAX(pool), SUM(attempts), MAX(destinations), MIN(first_seen), MAX(last_seen), COUNT(*)
		FROM edge_attempts GROUP BY source ORDER BY SUM(attempts) DESC, source LIMIT ?`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AttemptRecord
	for rows.Next() {
		var r AttemptRecord
		var src string
		var attempts, first, last int64
		if err := rows.Scan(&src, &r.Pool, &attempts, &r.Destinations, &first, &last, &r.Routers); err != nil {
			return nil, err
		}
		if r.Source, err = netip.ParseAddr(src); err != nil {
			return nil, err
		}
		r.Attempts = uint64(attempts)
		r.FirstSeen, r.LastSeen = time.Unix(first, 0), time.Unix(last, 0)
		out = append(out, r)
	}
	return out, rows.Err()
}

// PruneAttempts forgets sources not seen since before.
func (s *Store) PruneAttempts(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM edge_attempts WHERE last_seen < ?`, before.Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
