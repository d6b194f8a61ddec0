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
`}, migration{Version: 102, Name: "edge attempt episodes", SQL: `
ALTER TABLE edge_attempts ADD COLUMN episode_first BIGINT NOT NULL DEFAULT 0;
ALTER TABLE edge_attempts ADD COLUMN episode_attempts BIGINT NOT NULL DEFAULT 0;
UPDATE edge_attempts SET episode_first = last_seen, episode_attempts = attempts;
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

// episodeSlack absorbs the jitter of the first-attempt time the edge
// derives from the kernel's relative timers (truncated to seconds, read
// a moment apart); a new kernel episode starts at least one window
// (edge.attempt_window, >= 1m) after the previous one's first attempt.
const episodeSlack = 5

// StatEdgeBlocked is the node_stats series of blocked port-25 attempts:
// RecordAttempts adds each router's growth to it (the console's chart).
const StatEdgeBlocked = "edge.blocked"

// RecordAttempts merges a router's current kernel counts into the store.
// The kernel forgets a source a window after its first attempt and then
// counts from zero. A count whose first attempt is later than the stored
// episode's is such a new episode and is added to the total; otherwise it
// is the stored episode's count again, and only its growth is added.
func (s *Store) RecordAttempts(ctx context.Context, router string, recs []AttemptRecord) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		now := s.now().Unix()
		var added int64 // the growth of the totals, for StatEdgeBlocked
		for _, r := range recs {
			src := r.Source.String()
			var total, episode int64
			var first, last, epFirst int64
			var dests int
			var pool string
			err := tx.QueryRowContext(ctx, s.q(`SELECT pool, attempts, destinations, first_seen, last_seen, episode_first, episode_attempts FROM edge_attempts WHERE router = ? AND source = ?`), router, src).
				Scan(&pool, &total, &dests, &first, &last, &epFirst, &episode)
			if errors.Is(err, sql.ErrNoRows) {
				if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO edge_attempts (router, source, pool, attempts, destinations, first_seen, last_seen, updated_at, episode_first, episode_attempts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
					router, src, r.Pool, int64(r.Attempts), r.Destinations, r.FirstSeen.Unix(), r.LastSeen.Unix(), now, r.FirstSeen.Unix(), int64(r.Attempts)); err != nil {
					return fmt.Errorf("record attempts of %s: %w", src, err)
				}
				added += int64(r.Attempts)
				continue
			}
			if err != nil {
				return err
			}
			was := [...]int64{total, episode, first, last, epFirst, int64(dests)}
			n := int64(r.Attempts)
			if !r.FirstSeen.IsZero() && r.FirstSeen.Unix() > epFirst+episodeSlack {
				total, epFirst, episode = total+n, r.FirstSeen.Unix(), n
			} else if n > episode {
				total, episode = total+n-episode, n
			}
			if !r.FirstSeen.IsZero() {
				first = min(first, r.FirstSeen.Unix())
			}
			last, dests = max(last, r.LastSeen.Unix()), max(dests, r.Destinations)
			added += total - was[0]
			if pool == r.Pool && was == [...]int64{total, episode, first, last, epFirst, int64(dests)} {
				continue // a quiet source, read again each minute: nothing to write
			}
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE edge_attempts SET pool = ?, attempts = ?, destinations = ?, first_seen = ?, last_seen = ?, updated_at = ?, episode_first = ?, episode_attempts = ? WHERE router = ? AND source = ?`),
				r.Pool, total, dests, first, last, now, epFirst, episode, router, src); err != nil {
				return fmt.Errorf("record attempts of %s: %w", src, err)
			}
		}
		return s.addStatsTx(ctx, tx, router, time.Unix(now, 0), []StatSample{{Series: StatEdgeBlocked, Value: added}})
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
