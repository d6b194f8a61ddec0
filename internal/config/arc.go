package config

import "mailgate/internal/address"

// ARC is what mail this node forwards (a Sieve redirect to another site)
// carries besides its SRS sender ([arc]): our DKIM signature and an ARC
// set (RFC 8617), so that the receiving site, whose SPF, DKIM and DMARC
// checks of the original sender may now fail, can see who forwarded the
// message and what our MX found when it arrived.
type ARC struct {
	// Seal adds an ARC set (ARC-Authentication-Results, -Message-Signature,
	// -Seal) to every forwarded copy, as rspamd's arc module does for
	// Postfix sites.
	Seal bool `toml:"seal"`
	// DKIMSign adds a DKIM-Signature of the signing domain to every
	// forwarded copy, as OpenDKIM does for mail leaving through a site.
	DKIMSign bool `toml:"dkim_sign"`
	// Domain signs (d=) and seals every forwarded copy; it needs an
	// active DKIM key (`mailgate dkim keygen`). Empty means the domain
	// of the account whose Sieve script forwarded the message: one of
	// ours, whose key is already published, the domain the original
	// sender wrote to (rspamd's use_domain_sign_inbound = "recipient").
	Domain string `toml:"domain"`
}

func defaultARC() ARC { return ARC{Seal: true, DKIMSign: true} }

func (c *Config) validateARC(bad badFunc) {
	if d := c.ARC.Domain; d != "" {
		if _, err := address.CanonicalDomain(d); err != nil {
			bad("arc.domain", "%v (leave it empty for the forwarding account's domain)", err)
		}
	}
}

// ARCDomain is arc.domain in canonical form, or "" for the forwarding
// account's domain.
func (c *Config) ARCDomain() string {
	if c.ARC.Domain == "" {
		return ""
	}
	d, _ := address.CanonicalDomain(c.ARC.Domain)
	return d
}
