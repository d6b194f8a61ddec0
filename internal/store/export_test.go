package store

import "database/sql"

// DB exposes the database to tests that must write what older versions
// wrote.
func (s *Store) DB() *sql.DB { return s.db }

// Q is s.q for those tests.
func (s *Store) Q(query string) string { return s.q(query) }
