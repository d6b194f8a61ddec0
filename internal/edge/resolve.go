package edge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"mailgate/internal/store"
)

// Resolver is what the carrier sets need of DNS (dns.NetResolver): MX
// records and a host's addresses of both families, with errors as
// *net.DNSError as net.Resolver gives them.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupAddrs(ctx context.Context, host string) ([]netip.Addr, error)
}

// ResolveCarriers resolves every carrier domain to its MX hosts'
// addresses. A domain that fails keeps its previous answer from prev, so a
// DNS outage never empties a carrier set; errors are returned to be logged.
func ResolveCarriers(ctx context.Context, r Resolver, entries []store.CarrierEntry, prev map[string][]MXHost) (map[string][]MXHost, []error) {
	out := map[string][]MXHost{}
	var errs []error
	for _, c := range entries {
		if c.Kind != store.CarrierDomain {
			continue
		}
		if _, done := out[c.Entry]; done {
			continue
		}
		hosts, err := resolveDomain(ctx, r, c.Entry)
		if err != nil {
			errs = append(errs, fmt.Errorf("carrier %s domain %s: %w", c.Name, c.Entry, err))
			if old, ok := prev[c.Entry]; ok {
				out[c.Entry] = old
			}
			continue
		}
		out[c.Entry] = hosts
	}
	return out, errs
}

func resolveDomain(ctx context.Context, r Resolver, domain string) ([]MXHost, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	mxs, err := r.LookupMX(ctx, domain)
	var names []string
	var dnsErr *net.DNSError
	switch {
	case err == nil:
		for _, mx := range mxs {
			h := strings.TrimSuffix(mx.Host, ".")
			// RFC 7505: a null MX ("." ) means the domain takes no mail.
			if h != "" {
				names = append(names, strings.ToLower(h))
			}
		}
		if len(mxs) == 1 && names == nil {
			return nil, nil
		}
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		// RFC 5321 §5.1: no MX records means the domain itself is the
		// implicit MX.
		names = []string{domain}
	default:
		return nil, err
	}
	slices.Sort(names)
	names = slices.Compact(names)
	var hosts []MXHost
	for _, n := range names {
		addrs, err := r.LookupAddrs(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("MX host %s: %w", n, err)
		}
		slices.SortFunc(addrs, func(a, b netip.Addr) int { return a.Compare(b) })
		hosts = append(hosts, MXHost{Host: n, Addrs: addrs})
	}
	return hosts, nil
}
