package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// Node statistics for the console's charts: each node adds what its
// in-process counters (internal/metrics) counted since its last write to
// an hourly bucket, so the charts show the whole fleet (the sum over the
// nodes) and survive restarts. Prometheus keeps the fine-grained history;
// these buckets are a bounded summary (PruneNodeStats).

func init() {
	register(migration{Version: 603, Name: "node stats", SQL: `
CREATE TABLE node_stats (
	node TEXT NOT NULL,
	bucket BIGINT NOT NULL,
	series TEXT NOT NULL,
	value BIGINT NOT NULL,
	PRIMARY KEY (node, bucket, series)
);
CREATE INDEX node_stats_bucket ON node_stats(bucket);
`})
}

// StatsBucket is the length of one bucket; StatsKeep is how long buckets
// are kept (a week, and the day before to compare with).
const (
	StatsBucket = time.Hour
	StatsKeep   = 8 * 24 * time.Hour
)

// StatQueue is the series of the queue's size: each node's peak in the
// bucket, summed over the fleet.
const StatQueue = "queue"

// StatSample is one series' value for a node's bucket. A counter's Value
// is its growth since the node's last write and is added to the bucket; a
// gauge (Peak) keeps the bucket's highest value.
type StatSample struct {
	Series string
	Value  int64
	Peak   bool
}

// StatPoint is one bucket of a series, summed over the nodes.
type StatPoint struct {
	Bucket time.Time
	Value  int64
}

// StatBucketOf is the start of the bucket holding t.
func StatBucketOf(t time.Time) time.Time { return t.Truncate(StatsBucket) }

func checkSeries(name string) error {
	if name == "" || len(name) > 64 || strings.ContainsFunc(name, func(r rune) bool { return r < '!' || r > '~' }) {
		return fmt.Errorf("stat series %q: %w (1 to 64 printable ASCII characters)", name, ErrInvalid)
	}
	return nil
}

// RecordNodeStats adds node's samples to the bucket of at (the store's
// clock when at is zero). Zero counters are not written.
func (s *Store) RecordNodeStats(ctx context.Context, node string, at time.Time, samples []StatSample) error {
	if node == "" {
		return fmt.Errorf("stats: node name: %w", ErrInvalid)
	}
	for _, smp := range samples {
		if err := checkSeries(smp.Series); err != nil {
			return err
		}
	}
	if at.IsZero() {
		at = s.now()
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return s.addStatsTx(ctx, tx, node, at, samples)
	})
}

func (s *Store) addStatsTx(ctx context.Context, tx *sql.Tx, node string, at time.Time, samples []StatSample) error {
	bucket := StatBucketOf(at).Unix()
	for _, smp := range samples {
		update := `node_stats.value + excluded.value`
		if smp.Peak {
			update = `CASE WHEN excluded.value > node_stats.value THEN excluded.value ELSE node_stats.value END`
		} else if smp.Value == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO node_stats (node, bucket, series, value) VALUES (?, ?, ?, ?)
ON CONFLICT (node, bucket, series) DO UPDATE SET value = `+update), node, bucket, smp.Series, smp.Value); err != nil {
			return fmt.Errorf("stats %s: %w", smp.Series, err)
		}
	}
	return nil
}

// StatSeries returns every series with a bucket at or after since, summed
// over the nodes, buckets in time order. Missing buckets are absent (the
// caller fills the gaps it wants to show).
func (s *Store) StatSeries(ctx context.Context, since time.Time) (map[string][]StatPoint, error) {
	rows, err := s.query(ctx, `SELECT series, bucket, SUM(value) FROM node_stats WHERE bucket >= ? GROUP BY series, bucket ORDER BY series, bucket`,
		StatBucketOf(since).Unix())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][]StatPoint{}
	for rows.Next() {
		var series string
		var bucket, value int64
		if err := rows.Scan(&series, &bucket, &value); err != nil {
			return nil, err
		}
		out[series] = append(out[series], StatPoint{Bucket: time.Unix(bucket, 0), Value: value})
	}
	return out, rows.Err()
}

// PruneNodeStats deletes buckets older than StatsKeep.
func (s *Store) PruneNodeStats(ctx context.Context) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM node_stats WHERE bucket < ?`, StatBucketOf(s.now().Add(-StatsKeep)).Unix())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
