// Package keyed keeps a value per key (an account's lock, its quota
// reservations) only while someone uses it: a node up for months that
// served millions of accounts holds entries for the accounts busy now,
// not for every account it ever saw (a sync.Map of mutexes never shrinks).
package keyed

import "sync"

// Map is a value per key, its zero value ready to use (a sync.Mutex, a
// struct of counters). The zero Map is empty and ready.
type Map[V any] struct {
	mu sync.Mutex
	m  map[string]*entry[V]
}

type entry[V any] struct {
	v    V
	refs int // users holding or waiting on v, under Map.mu
}

// Acquire returns key's value, made on first use, shared by every user of
// key at the time, and done, which the user calls exactly once when it no
// longer holds or waits on the value; the last user's done drops the
// entry. Map.mu is held only to count, never while v is waited on.
func (m *Map[V]) Acquire(key string) (v *V, done func()) {
	m.mu.Lock()
	if m.m == nil {
		m.m = map[string]*entry[V]{}
	}
	e := m.m[key]
	if e == nil {
		e = new(entry[V])
		m.m[key] = e
	}
	e.refs++
	m.mu.Unlock()
	return &e.v, func() {
		m.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(m.m, key)
		}
		m.mu.Unlock()
	}
}

// Len is the number of keys in use.
func (m *Map[V]) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}

// Mutexes is a mutex per key.
type Mutexes struct{ m Map[sync.Mutex] }

// Lock locks key's mutex and returns its unlock.
func (l *Mutexes) Lock(key string) (unlock func()) {
	mu, done := l.m.Acquire(key)
	mu.Lock()
	return func() { mu.Unlock(); done() }
}

// Len is the number of keys locked or waited on.
func (l *Mutexes) Len() int { return l.m.Len() }

// RWMutexes is a read-write mutex per key.
type RWMutexes struct{ m Map[sync.RWMutex] }

// Lock write-locks key's mutex and returns its unlock.
func (l *RWMutexes) Lock(key string) (unlock func()) {
	mu, done := l.m.Acquire(key)
	mu.Lock()
	return func() { mu.Unlock(); done() }
}

// RLock read-locks key's mutex and returns its unlock.
func (l *RWMutexes) RLock(key string) (runlock func()) {
	mu, done := l.m.Acquire(key)
	mu.RLock()
	return func() { mu.RUnlock(); done() }
}

// Len is the number of keys locked or waited on.
func (l *RWMutexes) Len() int { return l.m.Len() }
