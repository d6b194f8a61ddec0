package config

import (
	"strings"
	"time"
)

// Edge configures the OP25B edge role (`mailgate edge run`, `edge apply`,
// `edge dnsbl`). The policy itself (pools, relays, exemptions, carriers,
// scope, action) lives in the store; these are the daemon's knobs.
type Edge struct {
	// PollInterval is how often `edge run` checks the store and the
	// schedule and re-applies.
	PollInterval time.Duration `toml:"poll_interval"`
	// ResolveInterval is how often carrier domains' MX hosts are
	// resolved again.
	ResolveInterval time.Duration `toml:"resolve_interval"`
	// AttemptWindow is how long the kernel remembers a blocked source's
	// attempts (the timeout of the counting sets, fixed at table creation).
	AttemptWindow time.Duration `toml:"attempt_window"`
	// DNSBLListen is where `edge dnsbl` serves (UDP and TCP); DNSBLZone
	// the zone it answers for (RFC 5782).
	DNSBLListen string `toml:"dnsbl_listen"`
	DNSBLZone   string `toml:"dnsbl_zone"`
	// MaxExemptPrefixV4 and V6 are the widest exemptions `edge exempt add`
	// takes without --force, as prefix lengths: /24 is the most a single
	// customer's fixed-IP plan gets, /48 a whole IPv6 site. One line
	// exempting 0.0.0.0/0 would turn OP25B off for every subscriber.
	MaxExemptPrefixV4 int `toml:"max_exempt_prefix_v4"`
	MaxExemptPrefixV6 int `toml:"max_exempt_prefix_v6"`
}

func defaultEdge() Edge {
	return Edge{
		PollInterval:    5 * time.Second,
		ResolveInterval: time.Hour,
		AttemptWindow:   7 * 24 * time.Hour,
		DNSBLListen:     "127.0.0.1:5353",

		MaxExemptPrefixV4: 24,
		MaxExemptPrefixV6: 48,
	}
}

func (c *Config) validateEdge(bad badFunc) {
	e := c.Edge
	if e.PollInterval < 100*time.Millisecond {
		bad("edge.poll_interval", "%v is below 100ms", e.PollInterval)
	}
	if e.ResolveInterval < time.Minute {
		bad("edge.resolve_interval", "%v is below 1m", e.ResolveInterval)
	}
	if e.AttemptWindow < time.Minute {
		bad("edge.attempt_window", "%v is below 1m", e.AttemptWindow)
	}
	if e.DNSBLListen != "" {
		if err := checkHostPort(e.DNSBLListen); err != nil {
			bad("edge.dnsbl_listen", "%q is not host:port: %v", e.DNSBLListen, err)
		}
	}
	if e.MaxExemptPrefixV4 < 1 || e.MaxExemptPrefixV4 > 32 {
		bad("edge.max_exempt_prefix_v4", "%d is not a prefix length from 1 to 32 (wider exemptions take --force)", e.MaxExemptPrefixV4)
	}
	if e.MaxExemptPrefixV6 < 1 || e.MaxExemptPrefixV6 > 128 {
		bad("edge.max_exempt_prefix_v6", "%d is not a prefix length from 1 to 128 (wider exemptions take --force)", e.MaxExemptPrefixV6)
	}
	if z := e.DNSBLZone; z != "" && (strings.ContainsAny(z, " \t/@") || !strings.Contains(strings.Trim(z, "."), ".")) {
		bad("edge.dnsbl_zone", "%q is not a DNS zone name like dyn.dnsbl.isp.example", z)
	}
}
