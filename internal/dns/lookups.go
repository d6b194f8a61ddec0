package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	mdns "github.com/miekg/dns"
)

// The lookups below give the Client the shape of net.Resolver's methods,
// so libraries written against *net.Resolver (SPF) and the rDNS check
// can use the shared cache. Errors stay this package's: ErrNotFound
// (wrapped) for definite answers, anything else temporary.

// LookupIPAddr returns host's addresses, IPv6 first.
func (c *Client) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	ips, err := c.LookupIP(ctx, host)
	if err != nil {
		return nil, err
	}
	out := make([]net.IPAddr, len(ips))
	for i, ip := range ips {
		out[i] = net.IPAddr{IP: ip}
	}
	return out, nil
}

// LookupHost returns host's addresses as strings, IPv6 first.
func (c *Client) LookupHost(ctx context.Context, host string) ([]string, error) {
	ips, err := c.LookupIP(ctx, host)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out, nil
}

// LookupA returns only host's IPv4 (A) or only its IPv6 (AAAA) addresses,
// as SPF's "a" mechanism and a DNS block list ask (RFC 7208 §5.3).
func (c *Client) LookupA(ctx context.Context, host string, v6 bool) ([]net.IP, error) {
	t := mdns.TypeA
	if v6 {
		t = mdns.TypeAAAA
	}
	rrs, _, err := c.query(ctx, host, t)
	if err != nil {
		return nil, err
	}
	var out []net.IP
	for _, rr := range rrs {
		switch v := rr.(type) {
		case *mdns.A:
			out = append(out, v.A)
		case *mdns.AAAA:
			out = append(out, v.AAAA)
		}
	}
	return out, nil
}

// LookupAddr returns the PTR names of an address (RFC 1035 §3.5, RFC 3596
// §2.5), fully qualified.
func (c *Client) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	rev, err := mdns.ReverseAddr(addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %q is not an IP address", ErrNotFound, addr)
	}
	rrs, _, err := c.query(ctx, rev, mdns.TypePTR)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rrs))
	for _, rr := range rrs {
		out = append(out, rr.(*mdns.PTR).Ptr)
	}
	return out, nil
}

// IsNotFound reports whether err is a definite "no such name or record".
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// AsNetError turns this package's errors into *net.DNSError, as code
// written for net.Resolver tells them apart: IsNotFound for definite
// answers, IsTemporary for the rest (timeouts, SERVFAIL).
func AsNetError(err error, name string) error {
	if err == nil {
		return nil
	}
	if IsNotFound(err) {
		return &net.DNSError{Err: "no such host", Name: strings.TrimSuffix(name, "."), IsNotFound: true}
	}
	return &net.DNSError{Err: err.Error(), Name: strings.TrimSuffix(name, "."), IsTemporary: true}
}

// LookupRR returns the records of one type at name, for `mailgate dns
// check`, which compares them with what we publish.
func (c *Client) LookupRR(ctx context.Context, name string, qtype uint16) ([]mdns.RR, error) {
	rrs, _, err := c.query(ctx, name, qtype)
	return rrs, err
}

// TXTData is a TXT record's text: its strings joined and unescaped (RFC
// 7208 §3.3, RFC 6376 §3.6.2.2).
func TXTData(t *mdns.TXT) string {
	var b strings.Builder
	for _, s := range t.Txt {
		b.WriteString(unescapeTXT(s))
	}
	return b.String()
}
