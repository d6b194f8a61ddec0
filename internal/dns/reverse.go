package dns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// The questions the inbound reputation checks ask besides delivery's: the
// PTR names of a client address, and the IPv4 answers of a DNS list
// (RFC 5782 §2.1: list entries are A records). The caching Client answers
// both; a Resolver that cannot (a test's, say) gets its own LookupIP's
// IPv4 half from LookupA, and Go's resolver's PTR answers.

// Reverser answers PTR questions for an address (RFC 1035 §3.5).
type Reverser interface {
	LookupPTR(ctx context.Context, ip netip.Addr) ([]string, error)
}

// AResolver answers A questions only: a DNS list needs no AAAA query.
type AResolver interface {
	LookupIPv4(ctx context.Context, name string) ([]netip.Addr, error)
}

// LookupPTR returns the PTR names of ip (lower case, without the final
// dot), asking r when it can answer PTR questions.
func LookupPTR(ctx context.Context, r Resolver, ip netip.Addr) ([]string, error) {
	if rv, ok := r.(Reverser); ok {
		return rv.LookupPTR(ctx, ip)
	}
	names, err := net.DefaultResolver.LookupAddr(ctx, ip.Unmap().String())
	if err != nil && len(names) == 0 {
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			return nil, fmt.Errorf("%w: %v", ErrNotFound, err)
		}
		return nil, err
	}
	return cleanNames(names), nil
}

// LookupA returns the IPv4 addresses of name, asking r.
func LookupA(ctx context.Context, r Resolver, name string) ([]netip.Addr, error) {
	if ar, ok := r.(AResolver); ok {
		return ar.LookupIPv4(ctx, name)
	}
	ips, err := r.LookupIP(ctx, name)
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	for _, ip := range ips {
		if a, ok := netip.AddrFromSlice(ip.To4()); ok && ip.To4() != nil {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s has no A record", ErrNotFound, name)
	}
	return out, nil
}

// ForwardConfirmed returns the first of names whose addresses include ip
// (forward-confirmed reverse DNS, RFC 8601 §3 "iprev"), or "" when none
// does. err is set only when no name confirmed and a lookup failed
// temporarily: the answer may change.
func ForwardConfirmed(ctx context.Context, r Resolver, ip netip.Addr, names []string) (string, error) {
	var tempErr error
	for _, name := range names {
		ips, err := r.LookupIP(ctx, name)
		if err != nil {
			if !errors.Is(err, ErrNotFound) {
				tempErr = err
			}
			continue
		}
		for _, a := range ips {
			if got, ok := netip.AddrFromSlice(a); ok && got.Unmap() == ip.Unmap() {
				return name, nil
			}
		}
	}
	return "", tempErr
}

// MaxPTRNames bounds the forward lookups for one address: a PTR set is
// the client's to make as large as it likes.
const MaxPTRNames = 10

// ReverseName looks up ip's PTR names and returns them with the first of
// them (at most MaxPTRNames tried) that forward-confirms, or "" (Postfix's
// "unknown"). This is the one rule for a client's verified name: the MX's
// Received field and the reputation checks both use it, so they agree.
// err is set when the PTR lookup, or every forward lookup that could have
// confirmed, failed temporarily (a missing PTR is not an error).
func ReverseName(ctx context.Context, r Resolver, ip netip.Addr) (names []string, confirmed string, err error) {
	names, err = LookupPTR(ctx, r, ip)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return nil, "", nil
		}
		return nil, "", err
	}
	confirmed, err = ForwardConfirmed(ctx, r, ip, names[:min(len(names), MaxPTRNames)])
	return names, confirmed, err
}

func cleanNames(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if n = strings.ToLower(strings.TrimSuffix(n, ".")); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// LookupPTR implements Reverser: the in-addr.arpa or ip6.arpa name of ip
// (RFC 1035 §3.5, RFC 3596 §2.5), from the cache.
func (c *Client) LookupPTR(ctx context.Context, ip netip.Addr) ([]string, error) {
	names, err := c.LookupAddr(ctx, ip.Unmap().String())
	if err != nil {
		return nil, err
	}
	return cleanNames(names), nil
}

// LookupIPv4 implements AResolver.
func (c *Client) LookupIPv4(ctx context.Context, name string) ([]netip.Addr, error) {
	ips, err := c.LookupA(ctx, name, false)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(ips))
	for _, ip := range ips {
		if a, ok := netip.AddrFromSlice(ip.To4()); ok {
			out = append(out, a)
		}
	}
	return out, nil
}
