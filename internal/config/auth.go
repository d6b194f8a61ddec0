package config

import (
	"net/netip"

	"mailgate/internal/address"
	"strings"
	"time"
)

// Auth is the MX's sender authentication ([auth]): SPF, DKIM and DMARC on
// every message arriving on port 25, before the 250 (package authres).
type Auth struct {
	// Enabled runs the checks on the MX.
	Enabled bool `toml:"enabled"`
	// AuthservID names our ADMD in Authentication-Results (RFC 8601 §2.5);
	// every node of a fleet should use the same. "" means hostname.
	AuthservID string `toml:"authserv_id"`
	// TempError is what a DNS failure that leaves the verdict open does:
	// "accept" (deliver, temperror recorded) or "defer" (451 4.7.x).
	TempError string `toml:"temperror"`
	// DMARCReject is what p=reject does to failing mail: "reject"
	// (550 5.7.1) or "quarantine" (the recipient's Junk folder).
	DMARCReject string `toml:"dmarc_reject"`
	// SPFFailReject refuses SPF "fail" (550 5.7.23) unless DMARC passes.
	SPFFailReject bool `toml:"spf_fail_reject"`
	// Timeout bounds the DNS work for one message.
	Timeout time.Duration `toml:"timeout"`
	// ARCTrustedSealers are the ARC sealers (ARC-Seal d=) whose recorded
	// results may overrule a failed DMARC check under p=reject or
	// p=quarantine (RFC 8617 §7.2, RFC 7489 §6.7). Empty by default: whom
	// to trust is the operator's choice, as Gmail and Microsoft 365 keep
	// their own lists; a sealer listed here can get any From domain past
	// DMARC with a sealed claim.
	ARCTrustedSealers []string `toml:"arc_trusted_sealers"`
}

// Publish describes what `mailgate dns records` tells operators to
// publish for our domains ([publish]).
type Publish struct {
	// OutboundIPs are the addresses our nodes send from: the SPF record's
	// ip4:/ip6: mechanisms (the record ends in -all).
	OutboundIPs []string `toml:"outbound_ips"`
	// MXHosts are our MX host names, in preference order; empty means
	// hostname alone.
	MXHosts []string `toml:"mx_hosts"`
	// DMARCPolicy is the p= we publish: none, quarantine or reject.
	DMARCPolicy string `toml:"dmarc_policy"`
	// ReportMailbox receives DMARC aggregate and TLS-RPT reports; "" means
	// postmaster@ the domain.
	ReportMailbox string `toml:"report_mailbox"`
	// MTASTSMode is the published MTA-STS mode: testing or enforce.
	MTASTSMode string `toml:"mta_sts_mode"`
}

func defaultAuth() Auth {
	return Auth{Enabled: true, TempError: "accept", DMARCReject: "reject", Timeout: 20 * time.Second}
}

func defaultPublish() Publish {
	return Publish{DMARCPolicy: "quarantine", MTASTSMode: "testing"}
}

func (c *Config) validateAuth(bad badFunc) {
	a := c.Auth
	if a.AuthservID != "" && strings.ContainsAny(a.AuthservID, " \t;()\"") {
		bad("auth.authserv_id", "%q is not a host name", a.AuthservID)
	}
	if a.TempError != "accept" && a.TempError != "defer" {
		bad("auth.temperror", "%q is not accept or defer", a.TempError)
	}
	if a.DMARCReject != "reject" && a.DMARCReject != "quarantine" {
		bad("auth.dmarc_reject", "%q is not reject or quarantine", a.DMARCReject)
	}
	if a.Timeout < time.Second {
		bad("auth.timeout", "%v is below 1s", a.Timeout)
	}
	seen := map[string]string{}
	for _, d := range a.ARCTrustedSealers {
		canon, err := address.CanonicalDomain(d)
		switch {
		case err != nil:
			bad("auth.arc_trusted_sealers", "%v (a sealer is the d= domain of its ARC-Seal, e.g. google.com)", err)
		case seen[canon] != "":
			bad("auth.arc_trusted_sealers", "%q is listed twice (as %q and %q)", canon, seen[canon], d)
		default:
			seen[canon] = d
		}
	}
	p := c.Publish
	for _, ip := range p.OutboundIPs {
		if _, err := netip.ParsePrefix(ip); err != nil {
			if _, err := netip.ParseAddr(ip); err != nil {
				bad("publish.outbound_ips", "%q is not an IP address or prefix", ip)
			}
		}
	}
	switch p.DMARCPolicy {
	case "none", "quarantine", "reject":
	default:
		bad("publish.dmarc_policy", "%q is not none, quarantine or reject", p.DMARCPolicy)
	}
	if p.MTASTSMode != "testing" && p.MTASTSMode != "enforce" {
		bad("publish.mta_sts_mode", "%q is not testing or enforce", p.MTASTSMode)
	}
	if p.ReportMailbox != "" && !strings.Contains(p.ReportMailbox, "@") {
		bad("publish.report_mailbox", "%q is not a mail address", p.ReportMailbox)
	}
}

// ARCTrustedSealers is auth.arc_trusted_sealers in canonical form
// (lower case, A-labels, no trailing dot), as ARC-Seal d= is compared.
func (c *Config) ARCTrustedSealers() []string {
	var out []string
	for _, d := range c.Auth.ARCTrustedSealers {
		if canon, err := address.CanonicalDomain(d); err == nil {
			out = append(out, canon)
		}
	}
	return out
}

// AuthservID is auth.authserv_id, or the host name.
func (c *Config) AuthservID() string {
	if c.Auth.AuthservID != "" {
		return c.Auth.AuthservID
	}
	return c.Hostname
}
