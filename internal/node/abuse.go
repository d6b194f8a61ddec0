package node

import (
	"context"
	"log/slog"

	"mailgate/internal/abuse"
	"mailgate/internal/smtpd"

	"mailgate/internal/config"
	"mailgate/internal/login"
	"mailgate/internal/store"
)

// startLoginThrottle installs the fleet-wide login throttle: counters in
// the store, settings from [abuse.login].
func startLoginThrottle(cfg *config.Config, st *store.Store, log *slog.Logger) *login.Throttle {
	l := cfg.Abuse.Login
	t := login.NewThrottle(st, login.Settings{
		Window: l.Window, Delay: l.Delay, MaxDelay: l.MaxDelay,
		BlockAfter: l.BlockAfter, BlockAfterAccount: l.BlockAfterAccount, BlockAfterNetwork: l.BlockAfterNetwork,
		BlockTime: l.BlockTime,
	}, log)
	login.SetThrottle(t)
	return t
}

// startOwnNetwork lets the MX offer AUTH to our own subscribers (issue 11
// §4), unless abuse.own_network_relay is "off".
func startOwnNetwork(ctx context.Context, cfg *config.Config, st *store.Store, log *slog.Logger, srv *smtpd.Server) error {
	if cfg.Abuse.OwnNetworkRelay == config.OwnRelayOff {
		return nil
	}
	pools, err := abuse.WatchPools(ctx, st, cfg.Abuse.PoolRefresh, log)
	if err != nil {
		return err
	}
	srv.OwnNetwork = pools
	return nil
}
