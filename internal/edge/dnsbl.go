package edge

import (
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/miekg/dns"
)

// DNSBL answers queries for a DNS blocklist zone listing our dynamic
// space (RFC 5782), so receivers can refuse direct-to-MX mail from it:
// the inbound counterpart of OP25B that other ISPs run.
type DNSBL struct {
	Zone   string // e.g. "dyn.dnsbl.isp.example." (fully qualified)
	policy atomic.Pointer[Policy]
}

// ListedAnswer is the A record for a listed address.
var ListedAnswer = netip.MustParseAddr("127.0.0.10")

// NewDNSBL serves zone from p; SetPolicy swaps in a newer one.
func NewDNSBL(zone string, p *Policy) *DNSBL {
	d := &DNSBL{Zone: dns.Fqdn(strings.ToLower(zone))}
	d.policy.Store(p)
	return d
}

// Policy returns the policy answered from.
func (d *DNSBL) Policy() *Policy { return d.policy.Load() }

// SetPolicy replaces the policy answered from, atomically.
func (d *DNSBL) SetPolicy(p *Policy) { d.policy.Store(p) }

// ParseQueryName turns a DNSxL query name into the address it asks
// about: reversed dotted octets for IPv4 (RFC 5782 §2.1), reversed
// nibbles for IPv6 (§2.4).
func ParseQueryName(name, zone string) (netip.Addr, bool) {
	name = strings.ToLower(dns.Fqdn(name))
	if !strings.HasSuffix(name, "."+zone) {
		return netip.Addr{}, false
	}
	labels := strings.Split(strings.TrimSuffix(name, "."+zone), ".")
	switch len(labels) {
	case 4:
		var b [4]byte
		for i, l := range labels {
			n, err := strconv.ParseUint(l, 10, 8)
			if err != nil || (len(l) > 1 && l[0] == '0') {
				return netip.Addr{}, false
			}
			b[3-i] = byte(n)
		}
		return netip.AddrFrom4(b), true
	case 32:
		var b [16]byte
		for i, l := range labels {
			if len(l) != 1 {
				return netip.Addr{}, false
			}
			n, err := strconv.ParseUint(l, 16, 8)
			if err != nil {
				return netip.Addr{}, false
			}
			j := 31 - i
			if j%2 == 0 {
				b[j/2] |= byte(n) << 4
			} else {
				b[j/2] |= byte(n)
			}
		}
		return netip.AddrFrom16(b), true
	}
	return netip.Addr{}, false
}

// RFC 5782 §5 test entries, parsed once rather than at every query.
var (
	testListed4   = netip.MustParseAddr("127.0.0.2")
	testListed6   = netip.MustParseAddr("::ffff:7f00:2")
	testUnlisted4 = netip.MustParseAddr("127.0.0.1")
	testUnlisted6 = netip.MustParseAddr("::ffff:7f00:1")
)

// lookup decides an address: RFC 5782 §5 test entries first (127.0.0.2
// and ::FFFF:7F00:2 listed, 127.0.0.1 and ::FFFF:7F00:1 not), then the
// policy.
func (d *DNSBL) lookup(a netip.Addr) (string, bool) {
	switch a {
	case testListed4, testListed6:
		return "RFC 5782 test entry", true
	case testUnlisted4, testUnlisted6:
		return "", false
	}
	pool, prefix, ok := d.policy.Load().Listed(a)
	if !ok {
		return "", false
	}
	return "dynamic subscriber range " + prefix.String() + " (pool " + pool + "): submit via your provider on 587/465", true
}

// ServeDNS implements dns.Handler.
func (d *DNSBL) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	if name != d.Zone && !strings.HasSuffix(name, "."+d.Zone) {
		m.Rcode = dns.RcodeRefused
		w.WriteMsg(m)
		return
	}
	a, ok := ParseQueryName(name, d.Zone)
	reason, listed := "", false
	if ok {
		reason, listed = d.lookup(a)
	}
	if !listed {
		if name != d.Zone {
			m.Rcode = dns.RcodeNameError
		}
		m.Ns = []dns.RR{d.soa()}
		w.WriteMsg(m)
		return
	}
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: q.Name, Rrtype: t, Class: dns.ClassINET, Ttl: 300}
	}
	switch q.Qtype {
	case dns.TypeA, dns.TypeANY:
		m.Answer = append(m.Answer, &dns.A{Hdr: hdr(dns.TypeA), A: ListedAnswer.AsSlice()})
	}
	switch q.Qtype {
	case dns.TypeTXT, dns.TypeANY:
		m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: []string{reason}})
	}
	if len(m.Answer) == 0 {
		m.Ns = []dns.RR{d.soa()}
	}
	w.WriteMsg(m)
}

func (d *DNSBL) soa() dns.RR {
	return &dns.SOA{
		Hdr: dns.RR_Header{Name: d.Zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 300},
		Ns:  "ns." + d.Zone, Mbox: "hostmaster." + d.Zone,
		Serial: uint32(d.policy.Load().Version), Refresh: 3600, Retry: 600, Expire: 86400, Minttl: 300,
	}
}
