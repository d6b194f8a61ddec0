package login

import (
	"context"
	"sync"
	"time"

	"mailgate/internal/store"
)

// memCounters keeps failure counters in memory, with the store's
// semantics (store/loginfailures.go), for a process without a store and
// for tests.
type memCounters struct {
	mu sync.Mutex
	m  map[string]store.LoginCounter
}

func newMemCounters() *memCounters { return &memCounters{m: map[string]store.LoginCounter{}} }

func (m *memCounters) LoginCounters(_ context.Context, keys []store.LoginKey) (map[string]store.LoginCounter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]store.LoginCounter{}
	for _, k := range keys {
		if c, ok := m.m[k.ID()]; ok {
			out[k.ID()] = c
		}
	}
	return out, nil
}

func (m *memCounters) AddLoginFailures(_ context.Context, keys []store.LoginKey, window time.Duration) ([]store.LoginCounter, error) {
	now := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.m) >= maxCached {
		m.prune(now, window)
	}
	var out []store.LoginCounter
	for _, k := range keys {
		c, ok := m.m[k.ID()]
		if !ok || now.Sub(c.LastAt) >= window {
			c = store.LoginCounter{LoginKey: k, FirstAt: now, BlockedUntil: c.BlockedUntil, Reason: c.Reason}
		}
		c.Failures++
		c.LastAt = now
		m.m[k.ID()] = c
		out = append(out, c)
	}
	return out, nil
}

func (m *memCounters) BlockLogins(_ context.Context, _ string, k store.LoginKey, until time.Time, reason string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.m[k.ID()]
	if !ok || c.Blocked(time.Now()) {
		return false, nil
	}
	c.BlockedUntil, c.Reason = until, reason
	m.m[k.ID()] = c
	return true, nil
}

func (m *memCounters) ClearLoginFailures(_ context.Context, pair store.LoginKey, parents []store.LoginKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.m[pair.ID()]
	if !ok || c.Blocked(time.Now()) {
		return nil
	}
	delete(m.m, pair.ID())
	for _, p := range parents {
		if pc, ok := m.m[p.ID()]; ok {
			pc.Failures = max(0, pc.Failures-c.Failures)
			m.m[p.ID()] = pc
		}
	}
	return nil
}

func (m *memCounters) PruneLoginFailures(_ context.Context, window time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.prune(time.Now(), window)
	return nil
}

// prune drops counters neither blocking nor recent; m.mu is held. Still
// full, it starts over: at worst some sources count from zero again.
func (m *memCounters) prune(now time.Time, window time.Duration) {
	for id, c := range m.m {
		if now.Sub(c.LastAt) >= window && !c.Blocked(now) {
			delete(m.m, id)
		}
	}
	if len(m.m) >= maxCached {
		m.m = map[string]store.LoginCounter{}
	}
}
