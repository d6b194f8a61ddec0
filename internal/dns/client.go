package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	mdns "github.com/miekg/dns"
	"golang.org/x/sync/singleflight"

	"mailgate/internal/metrics"
)

// Client asks DNS servers with miekg/dns (UDP, TCP when the answer is
// truncated) and keeps the answers in its Cache.
//
// With no Servers it asks the name servers of /etc/resolv.conf itself
// rather than going through Go's net.Resolver: only the raw answer carries
// the TTLs that positive caching needs, the SOA that negative caching
// needs (RFC 2308 §5) and the AD bit. The search list and /etc/hosts do
// not apply: mail looks up fully qualified domain names (RFC 5321 §2.3.5).
type Client struct {
	Servers []string
	Timeout time.Duration
	// Cache holds the answers; nil caches nothing.
	Cache *Cache

	flight singleflight.Group // one query in flight per name and type

	sysOnce    sync.Once
	sysServers []string
}

// ResolvConf is where the system's name servers are listed.
var ResolvConf = "/etc/resolv.conf"

// servers returns the configured servers, or the system's: resolv.conf(5)
// says a missing file or one without nameserver lines means the server on
// the local machine.
func (c *Client) servers() []string {
	if len(c.Servers) > 0 {
		return c.Servers
	}
	c.sysOnce.Do(func() {
		if cc, err := mdns.ClientConfigFromFile(ResolvConf); err == nil {
			for _, s := range cc.Servers {
				c.sysServers = append(c.sysServers, net.JoinHostPort(s, cc.Port))
			}
		}
		if len(c.sysServers) == 0 {
			c.sysServers = []string{"127.0.0.1:53", "[::1]:53"}
		}
	})
	return c.sysServers
}

// Stats returns the cache's counters (zero without a cache).
func (c *Client) Stats() CacheStats {
	if c.Cache == nil {
		return CacheStats{}
	}
	return c.Cache.Stats()
}

// validName reports whether name can be asked at all: RFC 1035 §2.3.4
// limits labels to 63 octets and names to 255; an empty label is no name.
// Such names get a definite "not found", as Go's resolver gives, since no
// server could ever answer for them.
func validName(name string) bool {
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > 253 {
		return false
	}
	for _, l := range strings.Split(name, ".") {
		if l == "" || len(l) > 63 {
			return false
		}
	}
	_, ok := mdns.IsDomainName(name)
	return ok
}

func (c *Client) query(ctx context.Context, name string, qtype uint16) ([]mdns.RR, bool, error) {
	if !validName(name) {
		return nil, false, fmt.Errorf("%w: %q is not a valid domain name", ErrNotFound, name)
	}
	key := cacheKey{strings.ToLower(mdns.Fqdn(name)), qtype}
	if c.Cache != nil {
		if e, ok := c.Cache.get(key); ok {
			metrics.DNSCache.WithLabelValues("hit").Inc()
			return e.rrs, e.secure, e.err
		}
		metrics.DNSCache.WithLabelValues("miss").Inc()
	}
	type answer struct {
		rrs    []mdns.RR
		secure bool
	}
	// Concurrent misses for one question share one query: a burst of
	// messages from one domain asks its SPF record once.
	v, err, _ := c.flight.Do(key.name+"/"+mdns.TypeToString[qtype], func() (any, error) {
		chain, authority, secure, err := c.ask(ctx, name, qtype)
		rrs := onlyType(chain, qtype)
		if c.Cache != nil {
			e := &cacheEntry{key: key, rrs: rrs, secure: secure, err: err}
			switch {
			case err == nil:
				c.Cache.put(e, c.Cache.positiveTTL(chain))
			case errors.Is(err, ErrNotFound):
				c.Cache.put(e, c.Cache.negativeTTL(authority))
			}
			// Temporary failures are not cached: the next message asks
			// again (RFC 2308 §7 allows, never requires, caching them).
		}
		return answer{rrs, secure}, err
	})
	a := v.(answer)
	return a.rrs, a.secure, err
}

// ask queries the servers in turn. secure is the answer's AD bit, asked
// for with AD=1 in the query (RFC 6840 §5.7): it means something only from
// a validating resolver the operator trusts, which is what dns.servers
// names. authority is the negative answer's authority section (its SOA).
func (c *Client) ask(ctx context.Context, name string, qtype uint16) (rrs, authority []mdns.RR, secure bool, err error) {
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(name), qtype)
	m.AuthenticatedData = true
	m.SetEdns0(4096, false)
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	var lastErr error
	for _, srv := range c.servers() {
		for _, proto := range []string{"udp", "tcp"} {
			cl := &mdns.Client{Net: proto, Timeout: timeout}
			began := time.Now()
			r, _, err := cl.ExchangeContext(ctx, m, srv)
			observeUpstream(began, r, err)
			if err != nil {
				lastErr = fmt.Errorf("dns: %s %s: %w", name, mdns.TypeToString[qtype], err)
				break // next server
			}
			if r.Truncated && proto == "udp" {
				continue
			}
			switch r.Rcode {
			case mdns.RcodeSuccess:
				var out []mdns.RR
				for _, rr := range r.Answer {
					// A recursive resolver's answer holds the CNAME chain
					// and the records at its end (RFC 1034 §3.6.2); the
					// chain's TTLs bound the whole answer's.
					if rr.Header().Rrtype == qtype || rr.Header().Rrtype == mdns.TypeCNAME {
						out = append(out, rr)
					}
				}
				if !hasType(out, qtype) {
					return nil, r.Ns, r.AuthenticatedData, fmt.Errorf("%w: %s %s: no records", ErrNotFound, name, mdns.TypeToString[qtype])
				}
				return out, nil, r.AuthenticatedData, nil
			case mdns.RcodeNameError:
				return nil, r.Ns, r.AuthenticatedData, fmt.Errorf("%w: %s: NXDOMAIN", ErrNotFound, name)
			default:
				lastErr = fmt.Errorf("dns: %s %s: %s from %s", name, mdns.TypeToString[qtype], mdns.RcodeToString[r.Rcode], srv)
			}
			break
		}
	}
	return nil, nil, false, lastErr
}

func hasType(rrs []mdns.RR, t uint16) bool {
	return len(onlyType(rrs, t)) > 0
}

func onlyType(rrs []mdns.RR, t uint16) []mdns.RR {
	var out []mdns.RR
	for _, rr := range rrs {
		if rr.Header().Rrtype == t {
			out = append(out, rr)
		}
	}
	return out
}

var (
	sharedMu sync.Mutex
	shared   = map[string]*Client{}
)

// Shared returns the process's one caching resolver for these settings,
// made on first use: delivery, the inbound checks and the reputation
// checks of a node all get the same Client, so they share one cache
// without being wired to each other.
func Shared(servers []string, timeout time.Duration) *Client {
	key := fmt.Sprint(servers, timeout)
	sharedMu.Lock()
	defer sharedMu.Unlock()
	c, ok := shared[key]
	if !ok {
		c = New(servers, timeout)
		shared[key] = c
	}
	return c
}

// observeUpstream times one query to an upstream server
// (metrics.DNSUpstreamSeconds).
func observeUpstream(began time.Time, r *mdns.Msg, err error) {
	result := "error"
	switch {
	case err != nil:
	case r.Rcode == mdns.RcodeSuccess:
		result = "ok"
	case r.Rcode == mdns.RcodeNameError:
		result = "nxdomain"
	}
	metrics.DNSUpstreamSeconds.WithLabelValues(result).Observe(time.Since(began).Seconds())
}
