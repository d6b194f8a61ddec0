package dns

import (
	"container/list"
	"sync"
	"sync/atomic"
	"time"

	mdns "github.com/miekg/dns"
)

// Cache keeps DNS answers for their TTL, least recently used first out
// when full (by count or by size), so memory stays bounded however many
// names the MX and the queue ask about. One Cache serves every lookup of a node: delivery and
// the inbound checks (SPF, DKIM, DMARC) ask many of the same questions.
type Cache struct {
	// MaxEntries bounds the number of answers kept (one per name and
	// type); 0 means DefaultCacheEntries.
	MaxEntries int
	// MaxBytes bounds their size (wire-format octets plus bookkeeping),
	// since one TXT answer may be tens of kilobytes; 0 means
	// DefaultCacheBytes.
	MaxBytes int
	// MaxTTL caps positive answers, MaxNegativeTTL negative ones; 0 means
	// the defaults below.
	MaxTTL, MaxNegativeTTL time.Duration

	mu    sync.Mutex
	lru   *list.List // front = most recently used; values are *cacheEntry
	m     map[cacheKey]*list.Element
	bytes int

	hits, misses, evictions atomic.Uint64
	now                     func() time.Time // tests move time
}

// Defaults. RFC 2308 §5 suggests a negative TTL cap of one to three hours;
// a shorter cap keeps a freshly published SPF or DKIM record from waiting
// long behind an earlier "no such name".
const (
	DefaultCacheEntries = 50000
	DefaultCacheBytes   = 32 << 20
	DefaultMaxTTL       = time.Hour
	DefaultMaxNegTTL    = 15 * time.Minute
)

type cacheKey struct {
	name  string // lower case, fully qualified
	qtype uint16
}

type cacheEntry struct {
	key     cacheKey
	rrs     []mdns.RR
	secure  bool  // the resolver set AD: DNSSEC-validated (RFC 4035 §3.2.3)
	err     error // nil, or an ErrNotFound answer (negative caching)
	expires time.Time
	size    int
}

// entrySize approximates an entry's memory: the records' wire length,
// the name, and a fixed overhead for the structures around them.
func entrySize(e *cacheEntry) int {
	n := 128 + len(e.key.name)
	for _, rr := range e.rrs {
		n += mdns.Len(rr) + 64
	}
	return n
}

// CacheStats are counters since the cache was made.
type CacheStats struct {
	Hits, Misses, Evictions uint64
	Entries, Bytes          int
}

// HitRate is hits / (hits + misses), 0 with no lookups.
func (s CacheStats) HitRate() float64 {
	if s.Hits+s.Misses == 0 {
		return 0
	}
	return float64(s.Hits) / float64(s.Hits+s.Misses)
}

// Stats returns the counters.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	n, b := len(c.m), c.bytes
	c.mu.Unlock()
	return CacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Evictions: c.evictions.Load(), Entries: n, Bytes: b}
}

func (c *Cache) clock() time.Time {
	if c.now != nil {
		return c.now()
	}
	return time.Now()
}

// get returns a live entry and marks it recently used.
func (c *Cache) get(k cacheKey) (*cacheEntry, bool) {
	now := c.clock()
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[k]
	if !ok {
		c.misses.Add(1)
		return nil, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.remove(el)
		c.misses.Add(1)
		return nil, false
	}
	c.lru.MoveToFront(el)
	c.hits.Add(1)
	return e, true
}

// put stores an answer for ttl; ttl <= 0 stores nothing.
func (c *Cache) put(e *cacheEntry, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	e.expires = c.clock().Add(ttl)
	e.size = entrySize(e)
	maxN, maxB := c.MaxEntries, c.MaxBytes
	if maxN <= 0 {
		maxN = DefaultCacheEntries
	}
	if maxB <= 0 {
		maxB = DefaultCacheBytes
	}
	if e.size > maxB/16 {
		return // one answer may not crowd out a sixteenth of the cache
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[cacheKey]*list.Element{}
		c.lru = list.New()
	}
	if el, ok := c.m[e.key]; ok {
		c.remove(el)
	}
	c.m[e.key] = c.lru.PushFront(e)
	c.bytes += e.size
	for len(c.m) > maxN || c.bytes > maxB {
		c.remove(c.lru.Back())
		c.evictions.Add(1)
	}
}

// remove drops one entry; c.mu is held.
func (c *Cache) remove(el *list.Element) {
	e := el.Value.(*cacheEntry)
	c.lru.Remove(el)
	delete(c.m, e.key)
	c.bytes -= e.size
}

// positiveTTL is the smallest TTL of the answer's records (RFC 2181 §5.2:
// the records of one RRset share a TTL; across a CNAME chain the smallest
// one bounds the whole answer), capped.
func (c *Cache) positiveTTL(rrs []mdns.RR) time.Duration {
	ttl := c.MaxTTL
	if ttl <= 0 {
		ttl = DefaultMaxTTL
	}
	for _, rr := range rrs {
		ttl = min(ttl, time.Duration(rr.Header().Ttl)*time.Second)
	}
	return ttl
}

// negativeTTL is RFC 2308 §5: the lesser of the SOA record's own TTL and
// its MINIMUM field, from the authority section of the negative answer.
// Without an SOA the answer is not cached ("SHOULD NOT be cached").
func (c *Cache) negativeTTL(authority []mdns.RR) time.Duration {
	capTTL := c.MaxNegativeTTL
	if capTTL <= 0 {
		capTTL = DefaultMaxNegTTL
	}
	for _, rr := range authority {
		if soa, ok := rr.(*mdns.SOA); ok {
			ttl := min(soa.Hdr.Ttl, soa.Minttl)
			return min(capTTL, time.Duration(ttl)*time.Second)
		}
	}
	return 0
}
