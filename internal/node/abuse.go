package node

import (
	"log/slog"

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
