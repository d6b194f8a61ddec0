package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"
)

// migration is one schema step. SQL is shared by both databases after the
// tokens below are replaced; Postgres, when set, replaces SQL entirely.
//
//	{{serial}}  an auto-increment integer primary key
//	{{blob}}    a byte string column
type migration struct {
	Version  int
	Name     string
	SQL      string
	Postgres string
	// Go, when set, runs after the SQL in the same transaction: for
	// rewrites of data that SQL cannot compute (IDNA, say).
	Go func(ctx context.Context, s *Store, tx *sql.Tx) error
}

// migrations are registered by the files that own the tables (directory.go,
// edge_*.go ...), each with its own version range so they never collide:
// 1-99 directory, 100-199 edge, 200-299 abuse, 300-399 mailbox, 400-499
// reputation, 500-599 content scanning, 700-799 fleet.
var migrations []migration

// register adds migrations. Two with one version would leave the second
// never applied (migrate records versions, not names): that is a bug to
// stop at start, before any database is touched.
func register(ms ...migration) {
	for _, m := range ms {
		for _, old := range migrations {
			if old.Version == m.Version {
				panic(fmt.Sprintf("store: migrations %q and %q both have version %d", old.Name, m.Name, m.Version))
			}
		}
		migrations = append(migrations, m)
	}
}

func (s *Store) render(m migration) string {
	if s.dialect == Postgres && m.Postgres != "" {
		return m.Postgres
	}
	sqlText := m.SQL
	if s.dialect == Postgres {
		sqlText = strings.NewReplacer("{{serial}}", "BIGSERIAL PRIMARY KEY", "{{blob}}", "BYTEA").Replace(sqlText)
	} else {
		sqlText = strings.NewReplacer("{{serial}}", "INTEGER PRIMARY KEY AUTOINCREMENT", "{{blob}}", "BLOB").Replace(sqlText)
	}
	return sqlText
}

// migrate applies every migration not yet recorded, each in its own
// transaction. On PostgreSQL an advisory lock keeps two nodes starting at
// once from racing.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: create schema_migrations: %w", err)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if s.dialect == Postgres {
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7025)`); err != nil {
			return fmt.Errorf("store: migration lock: %w", err)
		}
		defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(7025)`)
	}
	sorted := append([]migration(nil), migrations...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Version < sorted[j].Version })
	for _, m := range sorted {
		var n int
		if err := conn.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), m.Version).Scan(&n); err != nil {
			return fmt.Errorf("store: read schema_migrations: %w", err)
		}
		if n > 0 {
			continue
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for _, stmt := range splitStatements(s.render(m)) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				tx.Rollback()
				return fmt.Errorf("store: migration %d (%s): %w", m.Version, m.Name, err)
			}
		}
		if m.Go != nil {
			if err := m.Go(ctx, s, tx); err != nil {
				tx.Rollback()
				return fmt.Errorf("store: migration %d (%s): %w", m.Version, m.Name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`), m.Version, m.Name, time.Now().Unix()); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: record migration %d: %w", m.Version, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store: commit migration %d: %w", m.Version, err)
		}
	}
	return nil
}

// splitStatements splits a migration on ';' at line ends. Migrations hold
// no procedural code, so that is enough.
func splitStatements(sqlText string) []string {
	var out []string
	for _, part := range strings.Split(sqlText, ";\n") {
		if p := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(part), ";")); p != "" {
			out = append(out, p)
		}
	}
	return out
}
