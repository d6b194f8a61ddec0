// Package dns resolves the names outbound delivery needs (MX, A/AAAA, TXT)
// through either the system resolver or configured servers, so operators
// can pin the resolver and tests can point it at a server they run.
package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	mdns "github.com/miekg/dns"
)

// ErrNotFound means the name does not exist or holds no record of the
// asked type: a definite answer, unlike a timeout or SERVFAIL.
var ErrNotFound = errors.New("dns: no such record")

// Resolver looks up what delivery needs. Errors other than ErrNotFound
// (wrapped) are temporary: the question may get an answer later.
type Resolver interface {
	LookupMX(ctx context.Context, domain string) ([]*net.MX, error)
	// LookupIP returns IPv6 then IPv4 addresses of host.
	LookupIP(ctx context.Context, host string) ([]net.IP, error)
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// New returns the system resolver when servers is empty, else a resolver
// asking servers (host:port) in order.
func New(servers []string, timeout time.Duration) Resolver {
	if len(servers) == 0 {
		return System{}
	}
	return &Client{Servers: servers, Timeout: timeout}
}

// System uses Go's resolver (/etc/resolv.conf).
type System struct{}

func sysErr(err error) error {
	var de *net.DNSError
	if errors.As(err, &de) && de.IsNotFound {
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	return err
}

func (System) LookupMX(ctx context.Context, domain string) ([]*net.MX, error) {
	mx, err := net.DefaultResolver.LookupMX(ctx, domain)
	if err != nil && len(mx) == 0 {
		return nil, sysErr(err)
	}
	sortMX(mx)
	return mx, nil
}

func (System) LookupIP(ctx context.Context, host string) ([]net.IP, error) {
	ips, err := net.DefaultResolver.LookupIP(ctx, "ip", host)
	if err != nil {
		return nil, sysErr(err)
	}
	sortIPs(ips)
	return ips, nil
}

func (System) LookupTXT(ctx context.Context, name string) ([]string, error) {
	txt, err := net.DefaultResolver.LookupTXT(ctx, name)
	if err != nil {
		return nil, sysErr(err)
	}
	return txt, nil
}

// Client asks specific DNS servers with miekg/dns: UDP, TCP when the
// answer is truncated. Answers are cached for their TTL (at most 5
// minutes), definite "no such record" answers for 30 seconds, so a busy
// queue does not ask the same MX question for every message.
type Client struct {
	Servers []string
	Timeout time.Duration

	mu    sync.Mutex
	cache map[cacheKey]cacheEntry
}

type cacheKey struct {
	name  string
	qtype uint16
}

type cacheEntry struct {
	rrs     []mdns.RR
	err     error
	expires time.Time
}

const (
	maxCacheTTL  = 5 * time.Minute
	negativeTTL  = 30 * time.Second
	maxCacheSize = 10000
)

func (c *Client) query(ctx context.Context, name string, qtype uint16) ([]mdns.RR, error) {
	key := cacheKey{strings.ToLower(mdns.Fqdn(name)), qtype}
	c.mu.Lock()
	e, ok := c.cache[key]
	c.mu.Unlock()
	if ok && time.Now().Before(e.expires) {
		return e.rrs, e.err
	}
	rrs, err := c.ask(ctx, name, qtype)
	var ttl time.Duration
	switch {
	case err == nil:
		ttl = maxCacheTTL
		for _, rr := range rrs {
			ttl = min(ttl, time.Duration(rr.Header().Ttl)*time.Second)
		}
	case errors.Is(err, ErrNotFound):
		ttl = negativeTTL
	}
	if ttl > 0 {
		c.mu.Lock()
		if c.cache == nil || len(c.cache) >= maxCacheSize {
			c.cache = map[cacheKey]cacheEntry{}
		}
		c.cache[key] = cacheEntry{rrs: rrs, err: err, expires: time.Now().Add(ttl)}
		c.mu.Unlock()
	}
	return rrs, err
}

func (c *Client) ask(ctx context.Context, name string, qtype uint16) ([]mdns.RR, error) {
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(name), qtype)
	m.SetEdns0(4096, false)
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	var lastErr error
	for _, srv := range c.Servers {
		for _, proto := range []string{"udp", "tcp"} {
			cl := &mdns.Client{Net: proto, Timeout: timeout}
			r, _, err := cl.ExchangeContext(ctx, m, srv)
			if err != nil {
				lastErr = err
				break // next server
			}
			if r.Truncated && proto == "udp" {
				continue
			}
			switch r.Rcode {
			case mdns.RcodeSuccess:
				var out []mdns.RR
				for _, rr := range r.Answer {
					if rr.Header().Rrtype == qtype {
						out = append(out, rr)
					}
				}
				if len(out) == 0 {
					return nil, fmt.Errorf("%w: %s %s: no records", ErrNotFound, name, mdns.TypeToString[qtype])
				}
				return out, nil
			case mdns.RcodeNameError:
				return nil, fmt.Errorf("%w: %s: NXDOMAIN", ErrNotFound, name)
			default:
				lastErr = fmt.Errorf("dns: %s %s: %s from %s", name, mdns.TypeToString[qtype], mdns.RcodeToString[r.Rcode], srv)
			}
			break
		}
	}
	return nil, lastErr
}

func (c *Client) LookupMX(ctx context.Context, domain string) ([]*net.MX, error) {
	rrs, err := c.query(ctx, domain, mdns.TypeMX)
	if err != nil {
		return nil, err
	}
	out := make([]*net.MX, 0, len(rrs))
	for _, rr := range rrs {
		mx := rr.(*mdns.MX)
		out = append(out, &net.MX{Host: mx.Mx, Pref: mx.Preference})
	}
	sortMX(out)
	return out, nil
}

func (c *Client) LookupIP(ctx context.Context, host string) ([]net.IP, error) {
	var ips []net.IP
	var errs []error
	for _, t := range []uint16{mdns.TypeAAAA, mdns.TypeA} {
		rrs, err := c.query(ctx, host, t)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, rr := range rrs {
			switch v := rr.(type) {
			case *mdns.AAAA:
				ips = append(ips, v.AAAA)
			case *mdns.A:
				ips = append(ips, v.A)
			}
		}
	}
	if len(ips) > 0 {
		return ips, nil
	}
	for _, e := range errs {
		if !errors.Is(e, ErrNotFound) {
			return nil, e // a temporary failure decides: maybe there are addresses
		}
	}
	return nil, fmt.Errorf("%w: %s has no A or AAAA record", ErrNotFound, host)
}

func (c *Client) LookupTXT(ctx context.Context, name string) ([]string, error) {
	rrs, err := c.query(ctx, name, mdns.TypeTXT)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range rrs {
		// RFC 7208 §3.3 / RFC 6376 §3.6.2.2: the strings of one record are
		// concatenated.
		out = append(out, strings.Join(rr.(*mdns.TXT).Txt, ""))
	}
	return out, nil
}

// sortMX orders by preference (RFC 5321 §5.1), keeping equal preferences
// in the order given (resolvers already randomize them).
func sortMX(mx []*net.MX) {
	sort.SliceStable(mx, func(i, j int) bool { return mx[i].Pref < mx[j].Pref })
}

// sortIPs puts IPv6 first, as RFC 6724 ranks global IPv6 above IPv4.
func sortIPs(ips []net.IP) {
	sort.SliceStable(ips, func(i, j int) bool { return ips[i].To4() == nil && ips[j].To4() != nil })
}

// IsNullMX reports whether mx is the RFC 7505 null MX: a single record
// with an empty ("." ) host, meaning the domain accepts no mail.
func IsNullMX(mx []*net.MX) bool {
	if len(mx) != 1 {
		return false
	}
	h := strings.TrimSuffix(mx[0].Host, ".")
	return h == ""
}
