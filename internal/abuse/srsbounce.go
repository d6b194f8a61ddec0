package abuse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"mailgate/internal/address"
	"mailgate/internal/authres"
	"mailgate/internal/config"
	"mailgate/internal/login"
	"mailgate/internal/metrics"
	"mailgate/internal/verdict"
)

// RateCounter is the store's fixed-window counter, shared by the nodes of
// a fleet (store.Store.TakeRate).
type RateCounter interface {
	TakeRate(ctx context.Context, counter string, window time.Duration, max int) (bool, error)
}

// BounceLimiter bounds the bounces the MX takes to SRS addresses and sends
// on to the original senders ([srs] bounce_rate, bounce_rate_per_ip), as
// Postfix sites put a policy service's rate limit beside PostSRSd. Only
// an address we made passes the SRS hash, but a valid one, seen in mail
// we forwarded, keeps relaying to its sender for max_age days: without a
// bound a flood of backscatter, or a replay of one address, goes through
// us to its victim as fast as the MX takes mail. Counted per domain the
// bounces go on to (one victim, however many clients) and per client (an
// IPv4 address, an IPv6 /64: login.SourceOf), over the fleet.
type BounceLimiter struct {
	Counter   RateCounter
	PerDomain config.Rate
	PerClient config.Rate
	Log       *slog.Logger
}

// errBounceRateTemp: the counter could not be read. Deferred rather than
// let through: an unbounded relay is what the limit is for.
var errBounceRateTemp = &verdict.Reply{Code: 451, Enhanced: [3]int{4, 3, 0}, Text: "Cannot check the bounce rate now, try again later"}

// Take counts one bounce from client (an IP address) to an SRS address
// that goes on to orig, and returns nil to accept it or the reply that
// defers it: RFC 5321 §4.2.2's 450 (mailbox "temporarily blocked for
// policy reasons"), X.7.1 (RFC 3463 §3.8: not authorized). Temporary,
// so that a real bounce past the limit is retried by its sender and goes
// through in a later window. The client's count is taken first: one
// client over its limit does not use up the domain's.
func (l *BounceLimiter) Take(ctx context.Context, client, orig string) *verdict.Reply {
	if l == nil {
		return nil
	}
	domain := bounceDomain(orig)
	source := client
	if a, err := netip.ParseAddr(client); err == nil {
		source = login.SourceOf(a)
	}
	for _, c := range []struct {
		limit, key, what string
		rate             config.Rate
	}{
		{"client", "srs-bounce:client:" + source, "from your address", l.PerClient},
		{"domain", counterKey("srs-bounce:domain:", domain), "to " + domain, l.PerDomain},
	} {
		if c.rate.Off() {
			continue
		}
		ok, err := l.Counter.TakeRate(ctx, c.key, c.rate.Per, c.rate.Max)
		if err != nil {
			l.Log.Error("SRS bounce rate counter failed; bounce deferred", "client", client, "to", orig, "err", err)
			return errBounceRateTemp
		}
		if !ok {
			metrics.SRSBouncesLimited.WithLabelValues(c.limit).Inc()
			l.Log.Warn("SRS bounce rate-limited", "limit", c.limit, "rate", c.rate.String(), "client", client, "to", orig)
			return &verdict.Reply{Code: 450, Enhanced: [3]int{4, 7, 1},
				Text: fmt.Sprintf("Rate limited: too many bounces %s through our forwarding addresses (at most %s), try again later", c.what, c.rate)}
		}
	}
	return nil
}

// counterKey keeps a counter name within the store's 200 octets: a
// domain may have 253, and then its SHA-256 stands for it.
func counterKey(prefix, name string) string {
	if len(prefix)+len(name) <= 200 {
		return prefix + name
	}
	sum := sha256.Sum256([]byte(name))
	return prefix + "sha256:" + hex.EncodeToString(sum[:])
}

// bounceDomain is the domain whose budget a bounce to orig counts
// against: its organizational domain (RFC 7489 §3.2, the public suffix
// list) in the A-label form, so that one victim's subdomains
// (a.victim.example, b.victim.example) and its Unicode and punycode
// spellings share one budget instead of each having its own.
func bounceDomain(orig string) string {
	d := strings.ToLower(address.Domain(orig))
	if c, err := address.CanonicalDomain(d); err == nil {
		d = c
	}
	return authres.OrgDomain(d)
}
