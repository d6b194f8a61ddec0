package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"mailgate/internal/address"
	"mailgate/internal/arc"
	"mailgate/internal/authres"
	"mailgate/internal/config"
	"mailgate/internal/dkim"
	"mailgate/internal/spool"
)

// ForwardSigner signs the copies we forward (Sieve redirects to other
// sites, [arc]): a DKIM-Signature and an ARC set (RFC 8617) of our
// domain, so that the receiving site, whose checks of the original
// sender forwarding may break, sees who forwarded the message and what
// our MX found when it arrived.
type ForwardSigner struct {
	Keys dkim.Keys
	// Domain signs every copy; "" is the forwarding account's domain.
	Domain string
	Seal   bool // add an ARC set
	Sign   bool // add a DKIM-Signature
	// AuthservID names the Authentication-Results our MX adds, which the
	// ARC-Authentication-Results copies.
	AuthservID string
	DNS        authres.TXTResolver
	Log        *slog.Logger
}

// newForwardSigner is [arc]'s signer, nil when both halves are off.
func newForwardSigner(cfg *config.Config, keys dkim.Keys, res authres.TXTResolver, log *slog.Logger) *ForwardSigner {
	if !cfg.ARC.Seal && !cfg.ARC.DKIMSign {
		return nil
	}
	return &ForwardSigner{Keys: keys, Domain: cfg.ARCDomain(), Seal: cfg.ARC.Seal, Sign: cfg.ARC.DKIMSign,
		AuthservID: cfg.AuthservID(), DNS: res, Log: log}
}

// domainFor is the domain that signs a copy forwarded by the account via
// (spool.RcptState.Via): arc.domain, else the account's. Ours either way:
// the forwarder's ADMD is the one a receiver's ARC trust and DKIM
// reputation are about (Microsoft 365's trusted ARC sealers are seals'
// d= domains), and the account's domain is the
// one the original sender wrote to, with its key already published
// (rspamd's arc module signs inbound mail with the recipient's domain).
// "" for a recipient queued before Via existed, with no arc.domain.
func (f *ForwardSigner) domainFor(via string) string {
	if f.Domain != "" {
		return f.Domain
	}
	return strings.ToLower(address.Domain(via))
}

// Prefix returns the fields to put before the bytes of a copy of m that
// domain forwards, above prefix (what every copy of m gets, the From
// domain's DKIM-Signature or ""): our ARC set, then our DKIM-Signature.
// Both sign the message as it goes out (through crlfWriter, prefix
// included); the AMS covers our DKIM-Signature. A domain without an
// active key signs nothing (logged): the copy goes out as before [arc].
// An error (a key that does not load, a previous sealer's key not
// resolving for now) makes the attempt wait, as a DKIM signing failure.
func (f *ForwardSigner) Prefix(ctx context.Context, m *spool.Message, domain, prefix string) (string, error) {
	sel, key, err := f.Keys.Active(domain)
	if errors.Is(err, dkim.ErrNoKey) {
		f.Log.Warn("forwarded copy not DKIM-signed or ARC-sealed: its domain has no active DKIM key (mailgate dkim keygen)",
			"id", m.Envelope.ID, "domain", domain)
		return prefix, nil
	}
	if err != nil {
		return "", err
	}
	// The DKIM signature is made streaming from the spool, and the copy
	// is held in memory once, for the seal alone (which reads it more
	// than once), our DKIM-Signature on top: the AMS covers it.
	sig := ""
	if f.Sign {
		if sig, err = signOutgoing(m, prefix, domain, sel, key); err != nil {
			return "", err
		}
	}
	out := sig + prefix
	if !f.Seal {
		return out, nil
	}
	var b bytes.Buffer
	b.WriteString(sig)
	cw := &crlfWriter{w: &b} // as Remote.data writes the rest
	io.WriteString(cw, prefix)
	if _, err := io.Copy(cw, m.Body()); err != nil {
		return "", fmt.Errorf("reading the message: %w", err)
	}
	raw := b.Bytes()
	s := &arc.Sealer{Domain: domain, Selector: sel, Key: key, AuthservID: f.AuthservID, DNS: f.DNS}
	set, res, err := s.Seal(ctx, raw)
	if err != nil {
		return "", err
	}
	if set == "" {
		f.Log.Info("forwarded copy not ARC-sealed: its chain has ended", "id", m.Envelope.ID, "instance", res.Instance, "reason", res.Reason)
	} else if res.Status == arc.Fail {
		f.Log.Info("forwarded copy sealed with cv=fail", "id", m.Envelope.ID, "reason", res.Reason)
	}
	out = set + out
	return out, nil
}
