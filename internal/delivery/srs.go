package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"mailgate/internal/address"
	"mailgate/internal/config"
	"mailgate/internal/spool"
	"mailgate/internal/srs"
)

// newSRS is the [srs] rewriter, nil when it is off. Its secrets file is
// created on first start (srs.LoadSecrets). A hostname that is no fully
// qualified domain (zero-config's default can be "localhost") turns it
// off with a warning rather than stopping the node: a sender in such a
// domain could not be answered, and receiving sites refuse it.
func newSRS(cfg *config.Config, log *slog.Logger) (*srs.Rewriter, error) {
	if !cfg.SRS.Enabled {
		return nil, nil
	}
	if err := address.CheckDomain(cfg.SRSDomain()); err != nil {
		log.Warn("SRS off: forwarded mail keeps its sender; set srs.domain or hostname to a domain reaching this node", "err", err)
		return nil, nil
	}
	rw, err := srs.Open(cfg.SRSDomain(), cfg.SRSSecretFile(), cfg.SRS.MaxAge, true)
	if err != nil {
		return nil, fmt.Errorf("[srs]: %w", err)
	}
	return rw, nil
}

// forwardPath is the MAIL FROM the remote recipients we forward m to (a
// Sieve redirect, marked Forwarded) go out with: the sender rewritten
// with SRS, so the receiving site checks SPF against our SRS domain,
// which lists us, rather than the sender's, which does not (RFC 7208
// §1.2.3, Appendix D).
// Kept as it is: the null sender (a bounce must stay one, RFC 5321
// §4.5.5), a sender in one of our domains (our SPF covers it already),
// and everything when SRS is off. A sender we cannot rewrite (no domain)
// or a store error keeps the original too: the mail still goes out, as
// it did before SRS, rather than waiting on a lookup. It depends on m
// alone: deliverRemote asks once per message, not once per recipient.
func (a *Agent) forwardPath(ctx context.Context, m *spool.Message) string {
	from := m.Envelope.From
	if a.SRS == nil || from == "" {
		return from
	}
	ours, err := a.Local.Dir.HasDomain(ctx, strings.ToLower(address.Domain(from)))
	if err != nil || ours {
		return from
	}
	rewritten, err := a.SRS.Forward(from)
	if err != nil {
		a.Log.Warn("SRS: sender not rewritten", "id", m.Envelope.ID, "from", from, "err", err)
		return from
	}
	return rewritten
}

// withSender is m going out with reverse-path from: the same message
// bytes under another envelope sender.
func withSender(m *spool.Message, from string) *spool.Message {
	if from == m.Envelope.From {
		return m
	}
	c := *m
	c.Envelope.From = from
	return &c
}
