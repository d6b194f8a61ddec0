package store

import "time"

// SetClock replaces the store's clock, for tests of what ages out.
func SetClock(s *Store, now func() time.Time) { s.now = now }
