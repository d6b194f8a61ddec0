package sessions

import (
	"log/slog"
	"time"
)

// Settings are what the line-protocol servers (POP3, ManageSieve) are
// configured with alike; each embeds them, so a default is decided once.
type Settings struct {
	Log *slog.Logger
	// Timeout is the inactivity autologout timer (default 10 minutes:
	// RFC 1939 §3 wants at least that for POP3, and ManageSieve follows).
	Timeout time.Duration
	// MaxAuthFailures closes the connection after that many failed
	// logins (default 3, as IMAP does).
	MaxAuthFailures int
}

// IdleTimeout is Timeout or its default.
func (s Settings) IdleTimeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return 10 * time.Minute
}

// MaxFailures is MaxAuthFailures or its default.
func (s Settings) MaxFailures() int {
	if s.MaxAuthFailures > 0 {
		return s.MaxAuthFailures
	}
	return 3
}

// Logger is Log or the default logger.
func (s Settings) Logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}
