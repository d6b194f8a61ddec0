package node

import (
	"context"
	"log/slog"

	"mailgate/internal/abuse"
	"mailgate/internal/smtpd"
	"mailgate/internal/spool"

	"mailgate/internal/config"
	"mailgate/internal/delivery"
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
	srv.OwnNetworkIP = cfg.Abuse.OwnNetworkRelay == config.OwnRelayIP
	srv.Subscribers = st
	return nil
}

// startCompromiseResponse wires the compromised-account response's
// signals ([abuse.compromise]): submissions, remote delivery results and
// logins; "off" wires nothing.
func startCompromiseResponse(cfg *config.Config, st *store.Store, sp *spool.Spool, log *slog.Logger, throttle *login.Throttle, srv *smtpd.Server, agent *delivery.Agent) {
	c := cfg.Abuse.Compromise
	if c.Mode == abuse.CompromiseOff {
		return
	}
	m := &abuse.Monitor{Store: st, Spool: sp, Log: log,
		Policy: abuse.CompromisePolicy{
			Mode: c.Mode, BaselineFactor: c.BaselineFactor, BaselineDays: c.BaselineDays, BaselineMin: c.BaselineMin,
			RefusedShare: c.RefusedShare, RefusedMin: c.RefusedMin, Virus: c.Virus, SpamScore: c.SpamScore,
			LoginSources: c.LoginSources, LoginWindow: c.LoginWindow,
			Operator: c.Operator, From: cfg.Abuse.NoticeFrom, Hostname: cfg.Hostname,
		}}
	srv.Watch = m
	agent.OnRemoteResults = m.RemoteResults
	throttle.OnSuccess = m.LoggedIn
}
