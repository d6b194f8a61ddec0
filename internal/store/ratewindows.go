package store

import (
	"context"
	"fmt"
	"time"
)

// Fixed-window event counters shared by the nodes of a fleet: a limit
// that only one node enforced could be multiplied by spreading the events
// over the nodes (the self-check's server probe is the first user). The
// rules (keys, limits, windows) are the callers'; the store only counts,
// atomically.

func init() {
	register(migration{Version: 604, Name: "rate windows", SQL: `
CREATE TABLE rate_windows (
	counter TEXT PRIMARY KEY,
	window_start BIGINT NOT NULL,
	n BIGINT NOT NULL
);
CREATE INDEX rate_windows_start ON rate_windows(window_start);
`})
}

// TakeRate counts one event on counter in the current fixed window of
// length window (aligned to the epoch, the same on every node) and
// reports whether it is within max. Refused events are counted too: a
// client that keeps trying stays refused until the window ends.
func (s *Store) TakeRate(ctx context.Context, counter string, window time.Duration, max int) (bool, error) {
	if counter == "" || len(counter) > 200 || window < time.Second {
		return false, fmt.Errorf("rate counter %q per %v: %w", counter, window, ErrInvalid)
	}
	start := s.now().Truncate(window).Unix()
	// One statement: concurrent takers on any node each get their own n.
	// SET reads the row as it was, so the CASE sees the old window.
	var n int64
	err := s.queryRow(ctx, `INSERT INTO rate_windows (counter, window_start, n) VALUES (?, ?, 1)
ON CONFLICT (counter) DO UPDATE SET
	n = CASE WHEN rate_windows.window_start = excluded.window_start THEN rate_windows.n + 1 ELSE 1 END,
	window_start = excluded.window_start
RETURNING n`, counter, start).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("rate counter %s: %w", counter, err)
	}
	return n <= int64(max), nil
}

// PruneRateWindows deletes counters whose window started before before.
func (s *Store) PruneRateWindows(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM rate_windows WHERE window_start < ?`, before.Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
