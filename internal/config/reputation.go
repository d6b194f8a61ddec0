package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Reputation configures how the MX judges where mail comes from before it
// is received (package reputation): DNS block lists, dynamic address
// space talking straight to the MX (IP25B), and reverse DNS.
type Reputation struct {
	// DNSBL are the DNS lists asked about every MX client, in parallel.
	DNSBL []DNSBL `toml:"dnsbl"`
	// DNSBLTimeout bounds all of one client's list lookups; a list that
	// has not answered by then counts as not listing the client.
	DNSBLTimeout time.Duration `toml:"dnsbl_timeout"`
	// ConnectWait is how long the MX holds its greeting for the checks
	// that need only the client's address (the lists, imported dynamic
	// ranges): a client they refuse gets 554 instead of 220 (RFC 5321
	// §3.1). What has not answered by then does not block; 0 judges
	// nothing at connect (every refusal comes at MAIL FROM).
	ConnectWait time.Duration `toml:"connect_wait"`
	// CheckURL is the page refusals of dynamic sources name: our web
	// self-check. "{hostname}" becomes hostname; "" names none.
	CheckURL string `toml:"check_url"`
	// Dynamic is what happens to a client in dynamic (end-user) address
	// space: "reject" (550 5.7.1, use your provider's submission
	// service), "score", or "off".
	Dynamic string `toml:"dynamic"`
	// OwnPools counts our own dynamic pools (the edge policy) as dynamic
	// space for unauthenticated mail on port 25.
	OwnPools bool `toml:"own_pools"`
	// RDNS is "off", "score" (never refuses), "reject-missing" (no PTR)
	// or "reject-unconfirmed" (no forward-confirmed PTR).
	RDNS string `toml:"rdns"`
}

// DNSBL is one DNS list zone (RFC 5782).
type DNSBL struct {
	Zone string `toml:"zone"`
	// URL is the list's lookup page, named in refusals; {ip} becomes the
	// client's address.
	URL string `toml:"url"`
	// Action is "reject" (554 5.7.1) or "score" (adds Score).
	Action string  `toml:"action"`
	Score  float64 `toml:"score"`
	// Codes are the answers (addresses or prefixes) that mean listed;
	// empty: every answer that is not an error code or a dynamic code.
	Codes []string `toml:"codes"`
	// DynamicCodes are answers meaning "dynamic address space" (PBL
	// style); nil means 127.0.0.10 and 127.0.0.11.
	DynamicCodes []string `toml:"dynamic_codes"`
	// Servers, host:port, are asked for this list instead of [dns].
	Servers []string `toml:"servers"`
}

// Reputation settings' values.
const (
	ActionReject = "reject"
	ActionScore  = "score"
	ActionOff    = "off"

	RDNSOff               = "off"
	RDNSScore             = "score"
	RDNSRejectMissing     = "reject-missing"
	RDNSRejectUnconfirmed = "reject-unconfirmed"
)

func defaultReputation() Reputation {
	return Reputation{DNSBLTimeout: 2 * time.Second, ConnectWait: 3 * time.Second, CheckURL: "https://{hostname}/check",
		Dynamic: ActionReject, OwnPools: true, RDNS: RDNSScore}
}

// ReputationConfig is [reputation] with {hostname} in check_url replaced.
func (c *Config) ReputationConfig() Reputation {
	r := c.Reputation
	r.CheckURL = strings.ReplaceAll(r.CheckURL, "{hostname}", c.Hostname)
	return r
}

func (c *Config) validateReputation(bad badFunc) {
	r := c.Reputation
	if r.DNSBLTimeout < 100*time.Millisecond || r.DNSBLTimeout > 4*time.Second {
		// The MX waits at most 5 s for the client's verdict.
		bad("reputation.dnsbl_timeout", "%v is outside 100ms..4s (the MX waits at most 5s for the client checks)", r.DNSBLTimeout)
	}
	if r.ConnectWait != 0 && (r.ConnectWait < 100*time.Millisecond || r.ConnectWait > 10*time.Second) {
		bad("reputation.connect_wait", "%v is outside 100ms..10s (or 0: judge nothing before the greeting)", r.ConnectWait)
	}
	if r.CheckURL != "" && !strings.HasPrefix(r.CheckURL, "https://") && !strings.HasPrefix(r.CheckURL, "http://") {
		bad("reputation.check_url", "%q: give our self-check page, e.g. https://{hostname}/check, or \"\" for none", r.CheckURL)
	}
	switch r.Dynamic {
	case ActionReject, ActionScore, ActionOff:
	default:
		bad("reputation.dynamic", "%q is not one of reject, score, off", r.Dynamic)
	}
	switch r.RDNS {
	case RDNSOff, RDNSScore, RDNSRejectMissing, RDNSRejectUnconfirmed:
	default:
		bad("reputation.rdns", "%q is not one of off, score, reject-missing, reject-unconfirmed", r.RDNS)
	}
	zones := map[string]bool{}
	for i, l := range r.DNSBL {
		key := "reputation.dnsbl[" + strconv.Itoa(i) + "]"
		z := strings.ToLower(strings.Trim(l.Zone, "."))
		if z == "" || strings.ContainsAny(z, " \t/@") || !strings.Contains(z, ".") {
			bad(key+".zone", "%q is not a DNS zone name like zen.spamhaus.org", l.Zone)
		}
		if zones[z] {
			bad(key+".zone", "%q is listed twice", l.Zone)
		}
		zones[z] = true
		if !strings.HasPrefix(l.URL, "https://") && !strings.HasPrefix(l.URL, "http://") {
			bad(key+".url", "%q: give the list's lookup page (refusals name it), e.g. https://check.spamhaus.org/listed/?searchterm={ip}", l.URL)
		}
		switch l.Action {
		case ActionReject:
		case ActionScore:
			if l.Score <= 0 {
				bad(key+".score", "%v: a list with action = \"score\" needs a score above 0", l.Score)
			}
		default:
			bad(key+".action", "%q is not one of reject, score", l.Action)
		}
		for _, code := range append(append([]string(nil), l.Codes...), l.DynamicCodes...) {
			p, err := ParseCode(code)
			if err != nil {
				bad(key+".codes", "%v", err)
				continue
			}
			if p.Overlaps(netip.MustParsePrefix("127.255.255.0/24")) {
				bad(key+".codes", "%q: 127.255.255.x answers are the lists' error codes and never mean listed", code)
			}
		}
		for _, s := range l.Servers {
			if err := checkHostPort(s); err != nil {
				bad(key+".servers", "%q is not host:port: %v", s, err)
			}
		}
	}
}

// ParseCode reads a DNS list return code: an IPv4 address or prefix
// inside 127.0.0.0/8 (RFC 5782 §2.1).
func ParseCode(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		a, aerr := netip.ParseAddr(s)
		if aerr != nil {
			return netip.Prefix{}, errCode(s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if !p.Addr().Is4() || p.Bits() < 8 || !netip.MustParsePrefix("127.0.0.0/8").Contains(p.Addr()) {
		return netip.Prefix{}, errCode(s)
	}
	return p.Masked(), nil
}

func errCode(s string) error {
	return fmt.Errorf("return code %q is not an address or prefix inside 127.0.0.0/8 (RFC 5782 §2.1)", s)
}
