// Package netlimit is the one admission gate in front of every mail
// service's listener: it keeps accepting through temporary accept errors
// (a full file table must not end the node), caps concurrent connections
// per source and in total, answers over-cap clients with their protocol's
// own refusal, and bounds how long a client may take to log in.
package netlimit

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Limits are one service's caps. Zero means no cap (no deadline).
type Limits struct {
	// MaxPerSource bounds concurrent connections from one source: an
	// IPv4 address, or an IPv6 /64 (see sourceKey).
	MaxPerSource int
	// MaxTotal bounds the service's concurrent connections.
	MaxTotal int
	// LoginTimeout is how long a connection may stay unauthenticated:
	// every read deadline is clamped to accept time + LoginTimeout until
	// LoggedIn is called. Where nobody logs in, it bounds the session.
	LoginTimeout time.Duration
}

// Replies are the complete lines (CRLF included) a service writes to a
// connection it refuses, before closing it.
type Replies struct {
	PerSource string // the source already has MaxPerSource connections
	Total     string // the service already has MaxTotal connections
}

// Limiter holds one service's connection counts. Its listeners (e.g. 143
// and 993) share them: a client's IMAP connections count together.
type Limiter struct {
	service string
	limits  Limits
	replies Replies
	log     *slog.Logger

	mu      sync.Mutex
	total   int
	sources map[netip.Addr]*source

	refusing chan struct{} // bounds TLS refusals in flight
	refused  *periodicLog
}

// source is the connections from one source key, as a list so that a
// client that has gone can be found without a read.
type source struct {
	n    int
	head *Conn
}

// maxRefusalsInFlight bounds the TLS handshakes done only to say no.
const maxRefusalsInFlight = 64

// New returns the limiter of one service; service names it in logs.
func New(service string, limits Limits, replies Replies, log *slog.Logger) *Limiter {
	if log == nil {
		log = slog.Default()
	}
	return &Limiter{service: service, limits: limits, replies: replies, log: log,
		sources:  map[netip.Addr]*source{},
		refusing: make(chan struct{}, maxRefusalsInFlight),
		refused:  newPeriodicLog(time.Minute)}
}

// Listen wraps l. With implicitTLS set (ports 465, 993, 995) refusals are
// written after a TLS handshake with that config, since the client
// speaks nothing else; admitted connections are handed out raw either way.
func (lim *Limiter) Listen(l net.Listener, implicitTLS *tls.Config) *Listener {
	return &Listener{Listener: l, lim: lim, tls: implicitTLS,
		done: make(chan struct{}), errs: newPeriodicLog(time.Minute)}
}

// Count returns the connections the limiter holds now (for tests and
// metrics).
func (lim *Limiter) Count() int {
	lim.mu.Lock()
	defer lim.mu.Unlock()
	return lim.total
}

// admit counts c in, or returns the reply refusing it. Only a source at
// its cap is checked for connections its client already closed: a full
// service is under load or attack, and checking every connection on each
// refusal would cost most exactly then (sessions notice a gone client at
// their next read anyway).
func (lim *Limiter) admit(c *Conn) (refusal string) {
	lim.mu.Lock()
	defer lim.mu.Unlock()
	src := lim.sources[c.key]
	if src != nil && lim.limits.MaxPerSource > 0 && src.n >= lim.limits.MaxPerSource {
		lim.dropGoneLocked(src)
		// Releasing the source's last connection deleted it.
		src = lim.sources[c.key]
		if src != nil && src.n >= lim.limits.MaxPerSource {
			return lim.replies.PerSource
		}
	}
	if lim.limits.MaxTotal > 0 && lim.total >= lim.limits.MaxTotal {
		return lim.replies.Total
	}
	if src == nil {
		src = &source{}
		lim.sources[c.key] = src
	}
	src.n++
	lim.total++
	c.next = src.head
	if src.head != nil {
		src.head.prev = c
	}
	src.head = c
	return ""
}

// dropGoneLocked releases the slots of connections whose client has
// closed or reset its side, though the session serving it has not yet
// noticed: a sender that reconnects as soon as it has read our 221 must
// find its slot free (issue 13 §4; Postfix's smtp-source -s 20 hit this).
func (lim *Limiter) dropGoneLocked(src *source) {
	for c := src.head; c != nil; {
		next := c.next
		if peerClosed(c.Conn) {
			lim.releaseLocked(c)
		}
		c = next
	}
}

// release gives c's slot back, once, whoever calls it first.
func (lim *Limiter) release(c *Conn) {
	lim.mu.Lock()
	lim.releaseLocked(c)
	lim.mu.Unlock()
}

func (lim *Limiter) releaseLocked(c *Conn) {
	if c.released {
		return
	}
	c.released = true
	lim.total--
	src := lim.sources[c.key]
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		src.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	}
	c.prev, c.next = nil, nil
	if src.n--; src.n == 0 {
		delete(lim.sources, c.key)
	}
}

// sourceKey is what the per-source cap counts by. IPv6 sources count per
// /64: one subscriber or host is normally given a whole /64 (RFC 6177,
// RFC 7421), so counting single addresses would give one client 2^64
// slots. IPv4-mapped IPv6 addresses count as the IPv4 address.
func sourceKey(a net.Addr) netip.Addr {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	ip := ap.Addr().Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip
}
