package node

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"mailgate/internal/certs"
	"mailgate/internal/config"
	"mailgate/internal/store"
)

// startTicketKeys gives every listener (tlsConf, and the copies made of it)
// the session ticket keys kept in the store, so a client resumes its TLS
// session (RFC 8446 §2.2) on any node of the fleet and across restarts,
// and keeps them fresh: each refresh also rotates the key when it is due,
// whichever node gets there first. A rotation of 0 turns tickets off.
// Called before any listener starts; the keys are never logged.
func startTicketKeys(ctx context.Context, cfg *config.Config, st *store.Store, tlsConf *tls.Config, log *slog.Logger) error {
	rotation := time.Duration(cfg.TLS.TicketKeyRotation)
	if rotation == 0 {
		tlsConf.SessionTicketsDisabled = true
		return nil
	}
	keys := &certs.TicketKeys{}
	load := func(ctx context.Context) error {
		k, err := st.TLSTicketKeys(ctx, rotation, config.TicketKeysKept)
		if err == nil {
			keys.Set(k)
		}
		return err
	}
	if err := load(ctx); err != nil {
		return fmt.Errorf("tls session ticket keys: %w", err)
	}
	keys.Apply(tlsConf)
	go func() {
		// A node that has not yet seen another's new key gives its
		// tickets a full handshake, and tickets it still issues under
		// the previous key stay good everywhere: a minute's lag is fine.
		t := time.NewTicker(min(time.Minute, rotation/4))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := load(ctx); err != nil && ctx.Err() == nil {
				log.Warn("refreshing TLS session ticket keys failed (the ones held stay in use)", "err", err)
			}
		}
	}()
	return nil
}
