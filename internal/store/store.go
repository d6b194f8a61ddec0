// Package store is mailgate's directory and state: domains, accounts,
// aliases, audit records (and, in their own files, the edge policy).
//
// One Store type speaks to two databases through database/sql: SQLite
// (modernc.org/sqlite, no cgo) for a single node, PostgreSQL (pgx) for a
// fleet. Queries are written once with '?' placeholders and rewritten for
// PostgreSQL; migrations carry a variant per dialect where the SQL differs.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	_ "modernc.org/sqlite"             // registers "sqlite"
)

// Errors callers test with errors.Is; the wrapped message names the object.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrInUse    = errors.New("still in use")
	ErrInvalid  = errors.New("invalid")
)

// Dialect tells the two databases apart where their SQL differs.
type Dialect int

const (
	SQLite Dialect = iota
	Postgres
)

// Store is the directory. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect Dialect
	// now is replaceable in tests of expiry.
	now func() time.Time
	// stmts caches prepared statements by query text: every SMTP RCPT
	// runs the same few lookups, and parsing SQL each time costs more
	// than running it.
	stmts sync.Map // string -> *sql.Stmt
	// lookups caches HasDomain and Resolve (see lookupCache).
	lookups *lookupCache
	// sieveQuota is config [sieve]'s (SetSieveQuota); nil: the defaults.
	sieveQuota *SieveQuota
	// mailboxQuota is config [mailbox] quota (SetDefaultMailboxQuota):
	// octets, 0 unlimited.
	mailboxQuota int64
	// reserveQ feeds SQLite's send-limit reservations to the goroutine
	// that makes them in batches (reserveBatches), started on first use.
	reserveQ    chan reserveRequest
	reserveOnce sync.Once
	closed      chan struct{} // closed by Close
	closeOnce   sync.Once
}

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open connects to dsn (a SQLite path or a postgres:// URL) and brings the
// schema up to date.
func Open(ctx context.Context, dsn string) (*Store, error) {
	s := &Store{now: time.Now, lookups: &lookupCache{ttl: 2 * time.Second}, closed: make(chan struct{})}
	var err error
	if IsPostgres(dsn) {
		s.dialect = Postgres
		s.db, err = sql.Open("pgx", dsn)
	} else {
		// A URL of another scheme (mysql://, a misspelt postgre://)
		// would otherwise be a SQLite file under a directory named
		// "mysql:": a second, empty directory, silently.
		if scheme, _, ok := strings.Cut(dsn, "://"); ok && !strings.ContainsAny(scheme, `/\`) {
			return nil, fmt.Errorf("store: database %q: mailgate speaks PostgreSQL (postgres:// or postgresql://) or SQLite (a file path), not %s://", redact(dsn), scheme)
		}
		s.dialect = SQLite
		if dir := filepath.Dir(dsn); dir != "" {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return nil, fmt.Errorf("store: create %s: %w", dir, err)
			}
		}
		// WAL lets readers run beside the single writer; busy_timeout
		// makes concurrent CLI and server writes wait instead of failing;
		// BEGIN IMMEDIATE takes the write lock at the start, so a
		// transaction that reads then writes cannot fail with
		// SQLITE_BUSY_SNAPSHOT (517), which busy_timeout does not retry.
		s.db, err = sql.Open("sqlite", "file:"+dsn+"?_txlock=immediate&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)")
	}
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("store: cannot reach database %s: %w", redact(dsn), err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// Close releases the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	s.stmts.Range(func(_, st any) bool { st.(*sql.Stmt).Close(); return true })
	return s.db.Close()
}

// Dialect reports which database this store speaks to.
func (s *Store) Dialect() Dialect { return s.dialect }

// q rewrites '?' placeholders to PostgreSQL's $n. Our queries never hold a
// literal '?', so a plain scan is enough.
func (s *Store) q(query string) string {
	if s.dialect != Postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// stmt returns the prepared statement for query, preparing it once.
func (s *Store) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.db.PrepareContext(ctx, s.q(query))
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// queryList runs a query and returns one value per row, made by scan.
func queryList[T any](ctx context.Context, s *Store, scan func(*sql.Rows) (T, error), query string, args ...any) ([]T, error) {
	rows, err := s.query(ctx, query, args...)
	return scanAll(rows, err, scan)
}

// scanAll reads every row of a query's result with scan, and closes it.
func scanAll[T any](rows *sql.Rows, err error, scan func(*sql.Rows) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// queryRow runs a single-row query. A statement that fails to prepare
// falls back to a plain query, whose Row carries the error to Scan.
func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return s.db.QueryRowContext(ctx, s.q(query), args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// isUniqueViolation recognises a duplicate key in either database.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	m := err.Error()
	return strings.Contains(m, "UNIQUE constraint failed") || strings.Contains(m, "SQLSTATE 23505") ||
		strings.Contains(m, "PRIMARY KEY")
}

// isForeignKeyViolation recognises a reference to a missing or still
// referenced row in either database.
func isForeignKeyViolation(err error) bool {
	if err == nil {
		return false
	}
	m := err.Error()
	return strings.Contains(m, "FOREIGN KEY constraint failed") || strings.Contains(m, "SQLSTATE 23503")
}

// redact hides a password in a postgres URL before it reaches a log.
func redact(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if at := strings.LastIndex(dsn, "@"); at > i {
			if colon := strings.Index(dsn[i+3:at], ":"); colon >= 0 {
				return dsn[:i+3+colon] + ":***" + dsn[at:]
			}
		}
	}
	return dsn
}

// inTx runs fn in a transaction, committing only if fn succeeds, so a
// failing multi-step change leaves nothing half-done.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	err = tx.Commit()
	s.lookups.clear()
	return err
}

// execFoundTx runs a DELETE or UPDATE that must touch a row: touching none
// is ErrNotFound, said of what.
func (s *Store) execFoundTx(ctx context.Context, tx *sql.Tx, what, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, s.q(query), args...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return nil
}
