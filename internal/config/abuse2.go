package config

import (
	"net/mail"
	"time"
)

// LoginThrottle is [abuse.login]: failed logins counted per client address
// (IPv4, IPv6 /64), network (/24, /48) and address with account, shared by
// the fleet through the store; see package login.
type LoginThrottle struct {
	Window            time.Duration `toml:"window"`
	Delay             time.Duration `toml:"delay"`
	MaxDelay          time.Duration `toml:"max_delay"`
	BlockAfter        int           `toml:"block_after"`
	BlockAfterAccount int           `toml:"block_after_account"`
	BlockAfterNetwork int           `toml:"block_after_network"`
	BlockTime         time.Duration `toml:"block_time"`
}

// Compromise is [abuse.compromise]: the signals that an account's
// password or PC is in a spammer's hands, and the response.
type Compromise struct {
	// Mode: "enforce" suspends sending and holds the queue; "report" only
	// logs and audits what it would have done; "off".
	Mode string `toml:"mode"`
	// BaselineFactor: recipients in the last 24 hours above this many
	// times the account's daily average over the BaselineDays before;
	// never below BaselineMin recipients. 0 turns the signal off.
	BaselineFactor float64 `toml:"baseline_factor"`
	BaselineDays   int     `toml:"baseline_days"`
	BaselineMin    int     `toml:"baseline_min"`
	// RefusedShare of the remote recipients of the last 24 hours refused
	// permanently by the receiving servers, once at least RefusedMin were
	// refused. 0 turns the signal off.
	RefusedShare float64 `toml:"refused_share"`
	RefusedMin   int     `toml:"refused_min"`
	// Virus: a virus found in the account's outgoing mail.
	Virus bool `toml:"virus"`
	// SpamScore: an outgoing message scoring at least this much (rspamd
	// on submission). 0 turns the signal off.
	SpamScore float64 `toml:"spam_score"`
	// LoginSources distinct client networks (IPv4 /24, IPv6 /48) logging
	// in successfully within LoginWindow. 0 turns the signal off.
	LoginSources int           `toml:"login_sources"`
	LoginWindow  time.Duration `toml:"login_window"`
	// Operator receives a notice of each response; "" is
	// postmaster@<hostname>.
	Operator string `toml:"operator"`
}

// Own-network relay modes on the MX (issue 11 §4).
const (
	OwnRelayAuth = "auth" // AUTH after STARTTLS for clients in our pools
	OwnRelayIP   = "ip"   // that, and unauthenticated relay from our pools
	OwnRelayOff  = "off"  // the MX is an MX only
)

func defaultAbuse() Abuse {
	return Abuse{
		NoticeThreshold: 100, NoticeReminderAfter: 7 * 24 * time.Hour,
		OwnNetworkRelay: OwnRelayAuth,
		PoolRefresh:     time.Minute,
		Login: LoginThrottle{Window: 15 * time.Minute, Delay: 2 * time.Second, MaxDelay: 15 * time.Second,
			BlockAfter: 10, BlockAfterAccount: 5, BlockAfterNetwork: 50, BlockTime: 15 * time.Minute},
		Compromise: Compromise{Mode: "enforce", BaselineFactor: 10, BaselineDays: 7, BaselineMin: 200,
			RefusedShare: 0.5, RefusedMin: 20, Virus: true, LoginSources: 10, LoginWindow: time.Hour},
	}
}

func (c *Config) validateAbuse2(bad badFunc) {
	a := c.Abuse
	l := a.Login
	if l.Window < time.Minute {
		bad("abuse.login.window", "%v is below 1m", l.Window)
	}
	if l.Delay < 0 || l.MaxDelay < l.Delay || l.MaxDelay > time.Minute {
		bad("abuse.login.max_delay", "delay %v, max_delay %v: want 0 <= delay <= max_delay <= 1m", l.Delay, l.MaxDelay)
	}
	for key, n := range map[string]int{"block_after": l.BlockAfter, "block_after_account": l.BlockAfterAccount, "block_after_network": l.BlockAfterNetwork} {
		if n != 0 && n < 3 {
			// RFC 4954 §9: a session may end after 3 failures, not before;
			// a block should not come earlier.
			bad("abuse.login."+key, "%d is below 3 (0 never blocks)", n)
		}
	}
	if l.BlockTime < time.Minute || l.BlockTime > 24*time.Hour {
		bad("abuse.login.block_time", "%v is outside 1m..24h", l.BlockTime)
	}
	m := a.Compromise
	switch m.Mode {
	case "enforce", "report", "off":
	default:
		bad("abuse.compromise.mode", "%q is not one of enforce, report, off", m.Mode)
	}
	if m.BaselineFactor < 0 || m.BaselineDays < 1 || m.BaselineMin < 0 {
		bad("abuse.compromise.baseline_factor", "factor %v, days %d, min %d: want factor >= 0, days >= 1, min >= 0", m.BaselineFactor, m.BaselineDays, m.BaselineMin)
	}
	if m.RefusedShare < 0 || m.RefusedShare > 1 || m.RefusedMin < 1 {
		bad("abuse.compromise.refused_share", "share %v, min %d: want a share in 0..1 and refused_min >= 1", m.RefusedShare, m.RefusedMin)
	}
	if m.SpamScore < 0 {
		bad("abuse.compromise.spam_score", "%v must be 0 (off) or more", m.SpamScore)
	}
	if m.LoginSources < 0 || m.LoginWindow < time.Minute {
		bad("abuse.compromise.login_sources", "%d within %v: want a count >= 0 and a window of 1m or more", m.LoginSources, m.LoginWindow)
	}
	if m.Operator != "" {
		if _, err := mail.ParseAddress(m.Operator); err != nil {
			bad("abuse.compromise.operator", "%q is not an address: %v", m.Operator, err)
		}
	}
	switch a.OwnNetworkRelay {
	case OwnRelayAuth, OwnRelayIP, OwnRelayOff:
	default:
		bad("abuse.own_network_relay", "%q is not one of auth, ip, off", a.OwnNetworkRelay)
	}
	if a.PoolRefresh < time.Second {
		bad("abuse.pool_refresh", "%v is below 1s", a.PoolRefresh)
	}
}
