package store

import (
	"database/sql"
	"time"
)

// SetClock replaces the store's clock, for tests of what ages out.
func SetClock(s *Store, now func() time.Time) { s.now = now }

// DB exposes the database to tests that must write what older versions
// wrote.
func (s *Store) DB() *sql.DB { return s.db }

// Q is s.q for those tests.
func (s *Store) Q(query string) string { return s.q(query) }
