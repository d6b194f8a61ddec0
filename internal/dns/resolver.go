// Package dns resolves the names outbound delivery needs (MX, A/AAAA, TXT)
// through either the system resolver or configured servers, so operators
// can pin the resolver and tests can point it at a server they run.
package dns

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	mdns "github.com/miekg/dns"

	"mailgate/internal/dane"
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
	secure  bool // the resolver set AD: DNSSEC-validated (RFC 4035 §3.2.3)
	err     error
	expires time.Time
}

const (
	maxCacheTTL  = 5 * time.Minute
	negativeTTL  = 30 * time.Second
	maxCacheSize = 10000
)

func (c *Client) query(ctx context.Context, name string, qtype uint16) ([]mdns.RR, bool, error) {
	key := cacheKey{strings.ToLower(mdns.Fqdn(name)), qtype}
	c.mu.Lock()
	e, ok := c.cache[key]
	c.mu.Unlock()
	if ok && time.Now().Before(e.expires) {
		return e.rrs, e.secure, e.err
	}
	rrs, secure, err := c.ask(ctx, name, qtype)
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
		c.cache[key] = cacheEntry{rrs: rrs, secure: secure, err: err, expires: time.Now().Add(ttl)}
		c.mu.Unlock()
	}
	return rrs, secure, err
}

// ask queries the servers in turn. secure is the answer's AD bit, asked
// for with AD=1 in the query (RFC 6840 §5.7): it means something only from
// a validating resolver the operator trusts, which is what dns.servers
// names.
func (c *Client) ask(ctx context.Context, name string, qtype uint16) (rrs []mdns.RR, secure bool, err error) {
	m := new(mdns.Msg)
	m.SetQuestion(mdns.Fqdn(name), qtype)
	m.AuthenticatedData = true
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
					return nil, r.AuthenticatedData, fmt.Errorf("%w: %s %s: no records", ErrNotFound, name, mdns.TypeToString[qtype])
				}
				return out, r.AuthenticatedData, nil
			case mdns.RcodeNameError:
				return nil, r.AuthenticatedData, fmt.Errorf("%w: %s: NXDOMAIN", ErrNotFound, name)
			default:
				lastErr = fmt.Errorf("dns: %s %s: %s from %s", name, mdns.TypeToString[qtype], mdns.RcodeToString[r.Rcode], srv)
			}
			break
		}
	}
	return nil, false, lastErr
}

func (c *Client) LookupMX(ctx context.Context, domain string) ([]*net.MX, error) {
	rrs, _, err := c.query(ctx, domain, mdns.TypeMX)
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
		rrs, _, err := c.query(ctx, host, t)
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
	rrs, _, err := c.query(ctx, name, mdns.TypeTXT)
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

// Validating is a Resolver that can tell DNSSEC-validated answers, as DANE
// (RFC 7672) needs. Client is one; the system resolver cannot tell.
type Validating interface {
	Resolver
	// AddressSecure reports whether host's address records are
	// DNSSEC-validated (RFC 7672 §2.2.2: only then are its TLSA records
	// looked up).
	AddressSecure(ctx context.Context, host string) bool
	// LookupTLSA returns the TLSA records at name (_25._tcp.host) and
	// whether the answer was validated; ErrNotFound when there are none.
	LookupTLSA(ctx context.Context, name string) ([]dane.Record, bool, error)
}

// AddressSecure implements Validating: true when an AAAA or A answer with
// records came validated.
func (c *Client) AddressSecure(ctx context.Context, host string) bool {
	for _, t := range []uint16{mdns.TypeAAAA, mdns.TypeA} {
		if rrs, secure, err := c.query(ctx, host, t); err == nil && len(rrs) > 0 && secure {
			return true
		}
	}
	return false
}

// LookupTLSA implements Validating.
func (c *Client) LookupTLSA(ctx context.Context, name string) ([]dane.Record, bool, error) {
	rrs, secure, err := c.query(ctx, name, mdns.TypeTLSA)
	if err != nil {
		return nil, secure, err
	}
	out := make([]dane.Record, 0, len(rrs))
	for _, rr := range rrs {
		t := rr.(*mdns.TLSA)
		data, err := hex.DecodeString(t.Certificate)
		if err != nil {
			continue // malformed: unusable, like an unknown matching type
		}
		out = append(out, dane.Record{Usage: t.Usage, Selector: t.Selector, MatchingType: t.MatchingType, Data: data})
	}
	return out, secure, nil
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
