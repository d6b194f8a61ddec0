package dns

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// NetResolver is a Client with its errors as *net.DNSError (AsNetError),
// as net.Resolver gives them, for edge's carrier domains (edge.Resolver).
type NetResolver struct{ C *Client }

// Carriers is the resolver carrier domains are resolved with: the shared
// Client of the [dns] settings (servers; none: /etc/resolv.conf's).
func Carriers(servers []string, timeout time.Duration) NetResolver {
	return NetResolver{Shared(servers, timeout)}
}

func (n NetResolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	v, err := n.C.LookupMX(ctx, name)
	return v, AsNetError(err, name)
}

// LookupAddrs returns all of host's addresses (AAAA and A), IPv4
// addresses unmapped: a carrier's MX host is reached on either family.
// (No network parameter as net.Resolver.LookupNetIP has: every caller
// wanted both families, and a one-family filter over LookupIP would turn
// a failed query of the other family into "not found".)
func (n NetResolver) LookupAddrs(ctx context.Context, host string) ([]netip.Addr, error) {
	ips, err := n.C.LookupIP(ctx, host)
	if err != nil {
		return nil, AsNetError(err, host)
	}
	out := make([]netip.Addr, 0, len(ips))
	for _, ip := range ips {
		if a, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, a.Unmap())
		}
	}
	return out, nil
}
