// Package dns resolves the names delivery and the inbound checks need (MX,
// A/AAAA, TXT, PTR, TLSA) through the system's name servers or configured
// ones, so operators can pin the resolver and tests can point it at a
// server they run, with one cache in front (cache.go) shared by all.
package dns

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
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

// New returns a caching resolver asking servers (host:port) in order, or
// the servers of /etc/resolv.conf when servers is empty. Each call makes
// its own cache: a node makes one and hands it to delivery and the
// inbound checks.
func New(servers []string, timeout time.Duration) *Client {
	return &Client{Servers: servers, Timeout: timeout, Cache: &Cache{}}
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
		out = append(out, TXTData(rr.(*mdns.TXT)))
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

// unescapeTXT undoes miekg/dns's presentation escapes in a TXT string
// (\DDD for bytes outside printable ASCII, \X for '"' and '\'), giving
// back the octets on the wire: an SPF record with a control character
// must be seen as such (RFC 7208 §3.1), not as its escape.
func unescapeTXT(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			n := int(s[i+1]-'0')*100 + int(s[i+2]-'0')*10 + int(s[i+3]-'0')
			if n < 256 {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i+1])
		i++
	}
	return b.String()
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
