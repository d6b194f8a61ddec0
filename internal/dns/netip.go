package dns

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// NetResolver is a Client in the shape of net.Resolver's LookupMX and
// LookupNetIP, with its errors as *net.DNSError (AsNetError), for code
// written against *net.Resolver: edge's carrier domains (edge.Resolver).
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

// LookupNetIP returns host's addresses of network "ip", "ip4" or "ip6",
// IPv4 addresses unmapped.
func (n NetResolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	ips, err := n.C.LookupIP(ctx, host)
	if err != nil {
		return nil, AsNetError(err, host)
	}
	var out []netip.Addr
	for _, ip := range ips {
		a, ok := netip.AddrFromSlice(ip)
		if !ok {
			continue
		}
		a = a.Unmap()
		if (network == "ip4" && !a.Is4()) || (network == "ip6" && !a.Is6()) {
			continue
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no " + network + " address", Name: host, IsNotFound: true}
	}
	return out, nil
}
