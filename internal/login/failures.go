package login

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"mailgate/internal/password"
)

// failures remembers the sources whose logins failed lately. Their next
// logins hash at password.Low priority: a client guessing passwords cannot
// hold every CPU while a legitimate login waits. Only the priority
// changes; throttling and blocking are the abuse controls' business.
type failures struct {
	window time.Duration

	mu   sync.Mutex
	last map[string]time.Time // source key -> last failure
}

// maxFailures bounds the table; when it is full of live entries it starts
// over, which at worst gives some failing sources Normal priority again.
const maxFailures = 100000

var recent = newFailures(15 * time.Minute)

func newFailures(window time.Duration) *failures {
	return &failures{window: window, last: map[string]time.Time{}}
}

// sourceKey is the address a failure is held against: an IPv4 address, or
// the /64 of an IPv6 one (what one subscriber line gets, RFC 6177), so
// walking through one's own /64 does not make a clean source. A nil or
// non-IP address (the caller does not know) gives "", never recorded.
func sourceKey(source net.Addr) string {
	if source == nil {
		return ""
	}
	ap, err := netip.ParseAddrPort(source.String())
	if err != nil {
		return ""
	}
	a := ap.Addr().Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func (f *failures) failed(source net.Addr) {
	key := sourceKey(source)
	if key == "" {
		return
	}
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.last) >= maxFailures {
		for k, t := range f.last {
			if now.Sub(t) > f.window {
				delete(f.last, k)
			}
		}
		if len(f.last) >= maxFailures {
			f.last = map[string]time.Time{}
		}
	}
	f.last[key] = now
}

// priority is the one source's next login hashes with.
func (f *failures) priority(source net.Addr) password.Priority {
	if f.has(source) {
		return password.Low
	}
	return password.Normal
}

// has reports whether source failed a login within the window.
func (f *failures) has(source net.Addr) bool {
	key := sourceKey(source)
	if key == "" {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.last[key]
	return ok && time.Since(t) <= f.window
}
