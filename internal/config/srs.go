package config

import (
	"path/filepath"
	"strings"
	"time"

	"mailgate/internal/address"
)

// SRS rewrites the envelope sender of mail this node forwards (Sieve
// redirects to other sites) with the Sender Rewriting Scheme (package
// srs), so that the receiving site's SPF check (RFC 7208 §1.2.3,
// Appendix D) is made against our domain, not the original sender's.
type SRS struct {
	// Enabled is on by default: any subscriber can make a Sieve redirect
	// to an outside address, and without SRS that mail fails SPF at the
	// receiving site and, under DMARC p=reject, is lost when its DKIM
	// signature does not survive. Turn it off only when a smarthost
	// rewrites senders itself.
	Enabled bool `toml:"enabled"`
	// Domain is the part after '@' of the rewritten senders; it needs an
	// MX (or an address record: RFC 5321 §5.1's implicit MX) reaching
	// this node and an SPF record allowing its outgoing addresses. Empty
	// means the node's hostname: a name that already reaches this node,
	// exists from the first start (no domain need be added), and is
	// per node, as the generated secret is, so a bounce returns to the
	// node that can check it. A fleet that shares one secret file may
	// set one domain for every node.
	Domain string `toml:"domain"`
	// SecretFile holds the HMAC secrets, one per line, the first signing
	// (PostSRSd's format); empty means <data_dir>/srs.secret. A missing
	// file is created with a random secret, mode 0600. Never put the
	// secret in this file or on a command line: with it anyone can make
	// addresses we relay to.
	SecretFile string `toml:"secret_file"`
	// MaxAge is how many days a rewritten address accepts bounces
	// (libsrs2's and PostSRSd's 21).
	MaxAge int `toml:"max_age"`
	// BounceRate bounds the bounces the MX takes to SRS addresses per
	// domain they go on to (the original senders' domain), and
	// BounceRatePerIP those from one client (an IPv4 address, an IPv6
	// /64); past either, RCPT gets 450 4.7.1. An SRS address relays to
	// an outside site, and a valid one seen in forwarded mail can be
	// replayed for max_age days: without a bound, a flood of backscatter
	// (or a replay) goes through us to its victim at the MX's full rate.
	// The default, 100 an hour for each, is far above what legitimate
	// bounces come to (one per forwarded message that the forwarding
	// target accepted and then could not deliver) for all but the
	// largest ISPs, and the refusal is temporary: a real bounce past it
	// is retried by its sender (for days) and goes through an hour
	// later, while a flood at one domain is held to 2,400 a day.
	BounceRate      Rate `toml:"bounce_rate"`
	BounceRatePerIP Rate `toml:"bounce_rate_per_ip"`
}

func defaultSRS() SRS {
	return SRS{Enabled: true, MaxAge: 21,
		BounceRate: Rate{Max: 100, Per: time.Hour}, BounceRatePerIP: Rate{Max: 100, Per: time.Hour}}
}

func (c *Config) validateSRS(bad badFunc) {
	s := c.SRS
	// The stamp counts days mod 1024 (two base32 characters).
	if s.MaxAge < 1 || s.MaxAge > 1023 {
		bad("srs.max_age", "%d is outside 1..1023 days", s.MaxAge)
	}
	if s.Domain != "" {
		if _, err := address.CanonicalDomain(s.Domain); err != nil {
			bad("srs.domain", "%v (leave it empty for the hostname)", err)
		}
	}
}

// SRSDomain is srs.domain with its default, the hostname, filled in, in
// the canonical form the MX compares recipient domains in. A hostname
// that is no fully qualified domain (a zero-config node's "localhost")
// comes back lower-cased; address.CheckDomain then refuses it.
func (c *Config) SRSDomain() string {
	d := c.SRS.Domain
	if d == "" {
		d = c.Hostname
	}
	if canon, err := address.CanonicalDomain(d); err == nil {
		return canon
	}
	return strings.ToLower(strings.TrimSuffix(d, "."))
}

// SRSSecretFile is srs.secret_file with its default filled in.
func (c *Config) SRSSecretFile() string {
	if c.SRS.SecretFile != "" {
		return c.SRS.SecretFile
	}
	return filepath.Join(c.DataDir, "srs.secret")
}
