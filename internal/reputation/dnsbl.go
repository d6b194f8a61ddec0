package reputation

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"mailgate/internal/config"
	"mailgate/internal/dns"
)

// List is one DNS list (RFC 5782) compiled from [[reputation.dnsbl]].
type List struct {
	Zone     string // without the final dot
	URL      string
	Reject   bool    // refuse a listed client; else add Score
	Score    float64 // added when listed and not Reject
	codes    []netip.Prefix
	dynamic  []netip.Prefix
	resolver dns.Resolver
}

// pblCodes are the PBL-style answers meaning "end-user address space"
// (Spamhaus PBL 127.0.0.10/11; our own `edge dnsbl` answers 127.0.0.10).
var pblCodes = []netip.Prefix{netip.MustParsePrefix("127.0.0.10/32"), netip.MustParsePrefix("127.0.0.11/32")}

func newList(c config.DNSBL, resolver dns.Resolver, timeout time.Duration) (*List, error) {
	l := &List{Zone: strings.ToLower(strings.Trim(c.Zone, ".")), URL: c.URL, Reject: c.Action == config.ActionReject,
		Score: c.Score, dynamic: pblCodes, resolver: resolver}
	if len(c.Servers) > 0 {
		l.resolver = dns.New(c.Servers, timeout)
	}
	var err error
	if l.codes, err = parseCodes(c.Codes); err != nil {
		return nil, fmt.Errorf("dnsbl %s: %w", l.Zone, err)
	}
	if c.DynamicCodes != nil {
		if l.dynamic, err = parseCodes(c.DynamicCodes); err != nil {
			return nil, fmt.Errorf("dnsbl %s: %w", l.Zone, err)
		}
	}
	return l, nil
}

func parseCodes(ss []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		p, err := config.ParseCode(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// QueryName is the name asked of zone about ip: the address's octets
// reversed for IPv4 (RFC 5782 §2.1), its 32 nibbles reversed for IPv6
// (§2.4), then the zone.
func QueryName(ip netip.Addr, zone string) string {
	ip = ip.Unmap()
	var b strings.Builder
	if ip.Is4() {
		a := ip.As4()
		fmt.Fprintf(&b, "%d.%d.%d.%d.", a[3], a[2], a[1], a[0])
	} else {
		a := ip.As16()
		const hexd = "0123456789abcdef"
		for i := 15; i >= 0; i-- {
			b.WriteByte(hexd[a[i]&0xf])
			b.WriteByte('.')
			b.WriteByte(hexd[a[i]>>4])
			b.WriteByte('.')
		}
	}
	b.WriteString(strings.TrimSuffix(zone, "."))
	return b.String()
}

// IsErrorCode reports whether a list's answer is an error or a refusal
// rather than a listing, which never counts: anything outside 127/8
// (RFC 5782 §2.1: entries are 127.0.0.0/8 addresses; a resolver that
// rewrites NXDOMAIN answers elsewhere), 127.0.0.0 and 127.0.0.1 (§5: the
// address that must never be listed; URIBL and others answer it to
// refuse a query), and 127.255.255.0/24 (Spamhaus: 127.255.255.252 typo
// in the zone, .254 query through a public resolver, .255 excessive
// queries).
func IsErrorCode(a netip.Addr) bool {
	a = a.Unmap()
	if !a.Is4() {
		return true
	}
	b := a.As4()
	return b[0] != 127 || b == [4]byte{127, 0, 0, 0} || b == [4]byte{127, 0, 0, 1} || b[1] == 255 && b[2] == 255
}

// Answer is what one list said about one address.
type Answer struct {
	List    *List
	Listed  bool         // a listing code: refuse or score as the list says
	Dynamic bool         // a dynamic (PBL-style) code
	Codes   []netip.Addr // every address the list answered
	Ignored []netip.Addr // of those, error codes and codes not configured
	Err     error        // the lookup failed or timed out: not listed
}

// classify sorts a list's answers: dynamic codes first, then listing
// codes (all non-error answers when none are configured).
func (l *List) classify(codes []netip.Addr) Answer {
	ans := Answer{List: l, Codes: codes}
	for _, a := range codes {
		switch {
		case IsErrorCode(a):
			ans.Ignored = append(ans.Ignored, a)
		case containsAddr(l.dynamic, a):
			ans.Dynamic = true
		case len(l.codes) == 0 || containsAddr(l.codes, a):
			ans.Listed = true
		default:
			ans.Ignored = append(ans.Ignored, a)
		}
	}
	return ans
}

func containsAddr(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// lookup asks the list about ip. NXDOMAIN is "not listed"; any other
// failure is kept in Err and also counts as not listed: a list that is
// down or slow must never block mail.
func (l *List) lookup(ctx context.Context, ip netip.Addr) Answer {
	codes, err := dns.LookupA(ctx, l.resolver, QueryName(ip, l.Zone))
	if err != nil {
		if errors.Is(err, dns.ErrNotFound) {
			return Answer{List: l}
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer within the dnsbl_timeout: %w", ctx.Err())
		}
		return Answer{List: l, Err: err}
	}
	return l.classify(codes)
}

// lookupAll asks every list at once and waits at most timeout for all.
func lookupAll(ctx context.Context, lists []*List, ip netip.Addr, timeout time.Duration) []Answer {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := make([]Answer, len(lists))
	var wg sync.WaitGroup
	for i, l := range lists {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = l.lookup(ctx, ip)
		}()
	}
	wg.Wait()
	return out
}

// lookupURL is the list's page about ip.
func (l *List) lookupURL(ip netip.Addr) string {
	if strings.Contains(l.URL, "{ip}") {
		return strings.ReplaceAll(l.URL, "{ip}", ip.Unmap().String())
	}
	return l.URL
}
