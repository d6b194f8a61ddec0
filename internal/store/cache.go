package store

import (
	"sync"
	"time"
)

// lookupCache remembers the answers of the lookups every SMTP RCPT and
// every delivery makes (is this domain ours, which account gets this
// address) for a couple of seconds: under load the same few keys are asked
// thousands of times a second, and with PostgreSQL each ask is a network
// round trip. Any change made through this Store empties it at once;
// changes made by another node are seen within the TTL.
type lookupCache struct {
	ttl time.Duration
	// clock replaces time.Now in tests of expiry.
	clock func() time.Time
	mu    sync.Mutex
	m     map[string]cached
}

func (c *lookupCache) now() time.Time {
	if c.clock != nil {
		return c.clock()
	}
	return time.Now()
}

type cached struct {
	value   string
	err     error
	expires time.Time
}

// maxCached bounds the memory a flood of distinct addresses can take.
const maxCached = 100000

func (c *lookupCache) get(key string) (string, error, bool) {
	if c == nil || c.ttl <= 0 {
		return "", nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || c.now().After(e.expires) {
		return "", nil, false
	}
	return e.value, e.err, true
}

func (c *lookupCache) put(key, value string, err error) {
	if c == nil || c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCached {
		c.m = map[string]cached{}
	}
	c.m[key] = cached{value: value, err: err, expires: c.now().Add(c.ttl)}
}

func (c *lookupCache) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}
