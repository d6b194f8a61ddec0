package config

import (
	"os"
	"time"
)

// Abuse holds the abuse desk's settings: notices to subscribers whose lines
// keep hitting the port-25 block (mailgate abuse notices).
type Abuse struct {
	// NoticeThreshold is how many blocked port-25 attempts earn a notice.
	NoticeThreshold int `toml:"notice_threshold"`
	// NoticeReminderAfter is the least time between two notices to one line.
	NoticeReminderAfter time.Duration `toml:"notice_reminder_after"`
	// NoticeFrom is the notices' sender; "" is postmaster@<hostname>.
	NoticeFrom string `toml:"notice_from"`
	// NoticeTextFile is a Go text/template for the body; "" is the built-in
	// Japanese and English text.
	NoticeTextFile string `toml:"notice_text_file"`

	// OwnNetworkRelay: what the MX offers clients in our subscriber pools
	// (OwnRelayAuth, OwnRelayIP, OwnRelayOff).
	OwnNetworkRelay string `toml:"own_network_relay"`
	// PoolRefresh is how often the MX rereads the pools from the store.
	PoolRefresh time.Duration `toml:"pool_refresh"`

	Login      LoginThrottle `toml:"login"`
	Compromise Compromise    `toml:"compromise"`
}

func (c *Config) validateAbuse(bad badFunc) {
	c.validateAbuse2(bad)
	if c.Abuse.NoticeThreshold < 1 {
		bad("abuse.notice_threshold", "%d must be at least 1", c.Abuse.NoticeThreshold)
	}
	if c.Abuse.NoticeReminderAfter < time.Hour {
		bad("abuse.notice_reminder_after", "%v is below 1h", c.Abuse.NoticeReminderAfter)
	}
	if f := c.Abuse.NoticeTextFile; f != "" {
		if _, err := os.Stat(f); err != nil {
			bad("abuse.notice_text_file", "%v", err)
		}
	}
}
