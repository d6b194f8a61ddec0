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

// startTicketKeys loads the session ticket keys kept in the store, so a
// client resumes its TLS session (RFC 8446 §2.2) on any node of the fleet
// and across restarts, and keeps them fresh: each refresh also rotates
// the key when it is due, whichever node gets there first. It returns nil
// when the rotation is 0 (tickets off). Called before any listener
// starts; the keys are never logged. useTicketKeys gives them to a
// listener's config.
func startTicketKeys(ctx context.Context, cfg *config.Config, st *store.Store, log *slog.Logger) (*certs.TicketKeys, error) {
	rotation := time.Duration(cfg.TLS.TicketKeyRotation)
	if rotation == 0 {
		return nil, nil
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
		return nil, fmt.Errorf("tls session ticket keys: %w", err)
	}
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
	return keys, nil
}

// useTicketKeys makes conf (and the copies later made of it) issue and
// accept tickets under keys, or none at all when keys is nil (rotation
// off). Every TLS server of the node goes through it: the public
// listeners and the fleet's internal channel alike.
func useTicketKeys(keys *certs.TicketKeys, conf *tls.Config) {
	if keys == nil {
		conf.SessionTicketsDisabled = true
		return
	}
	keys.Apply(conf)
}
