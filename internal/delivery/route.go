package delivery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"mailgate/internal/dns"
)

// hop is one host to try for a destination, in order.
type hop struct {
	Name string   // MX host name (for TLS and logs)
	IPs  []net.IP // nil: to be looked up
	Port int
}

// routeError is a routing failure; Perm means retrying cannot help.
type routeError struct {
	Perm bool
	Code string // SMTP-like reply: "550 5.1.2 ..."
}

// mxRoute returns the hosts to try for domain, by MX preference. RFC 5321
// §5.1: MX records sorted by preference; with no MX at all, the domain's
// own address is an implicit MX of preference 0. RFC 7505: a null MX
// means the domain takes no mail: fail at once.
func mxRoute(ctx context.Context, r dns.Resolver, domain string, port int) ([]hop, *routeError) {
	mx, err := r.LookupMX(ctx, domain)
	switch {
	case errors.Is(err, dns.ErrNotFound):
		ips, err := r.LookupIP(ctx, domain)
		if err != nil {
			if errors.Is(err, dns.ErrNotFound) {
				return nil, &routeError{Perm: true, Code: fmt.Sprintf("550 5.1.2 domain %s has no MX, A or AAAA record", domain)}
			}
			return nil, &routeError{Code: fmt.Sprintf("451 4.4.3 DNS lookup of %s failed: %v", domain, err)}
		}
		return []hop{{Name: domain, IPs: ips, Port: port}}, nil // looked up already
	case err != nil:
		return nil, &routeError{Code: fmt.Sprintf("451 4.4.3 MX lookup of %s failed: %v", domain, err)}
	}
	if dns.IsNullMX(mx) {
		return nil, &routeError{Perm: true, Code: fmt.Sprintf("556 5.1.10 domain %s accepts no mail (null MX, RFC 7505)", domain)}
	}
	var hops []hop
	for _, m := range mx {
		h := strings.ToLower(strings.TrimSuffix(m.Host, "."))
		if h == "" {
			continue // a "." among real MXs is meaningless; skip it
		}
		hops = append(hops, hop{Name: h, Port: port})
	}
	if len(hops) == 0 {
		return nil, &routeError{Perm: true, Code: fmt.Sprintf("556 5.1.10 domain %s lists no usable MX host", domain)}
	}
	return hops, nil
}
