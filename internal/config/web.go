package config

import (
	"net/netip"
	"strings"
	"time"
)

// Web configures the HTTP(S) server ([listen] http and https): the
// subscribers' pages, autoconfig, the carrier feed and metrics.
type Web struct {
	// ClientHost is the host name subscribers' mail programs use for IMAP,
	// POP3 and submission, in setup guides and autoconfig. "{domain}" is
	// replaced by the mail domain ("gw.{domain}"); "" means hostname.
	ClientHost string `toml:"client_host"`
	// SessionLifetime is how long a web login lasts without use.
	SessionLifetime time.Duration `toml:"session_lifetime"`
	// ProbeAllow lists prefixes the OP25B self-check's server probe may
	// connect to although they are private, loopback or ours (tests).
	ProbeAllow []string `toml:"probe_allow"`
	// ProbePerHour bounds probes per client network (IPv4 /24, IPv6
	// /64) per hour, counted over the fleet (the store).
	ProbePerHour int `toml:"probe_per_hour"`
	// ProbeFleetPerHour bounds all visitors' probes per hour, over the
	// fleet: what the probe as a whole can be made to connect to.
	ProbeFleetPerHour int `toml:"probe_fleet_per_hour"`
	// ProbeTimeout bounds each port's probe.
	ProbeTimeout time.Duration `toml:"probe_timeout"`
	// ProbePorts are the ports the probe tries: submission (STARTTLS and
	// AUTH), submissions (implicit TLS), mx (port 25 from here).
	ProbePorts ProbePorts `toml:"probe_ports"`
	// MetricsAllow lists the source prefixes that may read /metrics.
	MetricsAllow []string `toml:"metrics_allow"`
	// ChartInterval is how often the node adds its counters (messages,
	// deliveries, refusals, queue size) to the store for the console's
	// charts.
	ChartInterval time.Duration `toml:"chart_interval"`
	// Operators are the accounts that may use the console (/console)
	// after logging in; empty: nobody.
	Operators []string `toml:"operators"`
}

// ProbePorts are the self-check probe's ports; tests move them.
type ProbePorts struct {
	Submission  int `toml:"submission"`
	Submissions int `toml:"submissions"`
	MX          int `toml:"mx"`
}

func defaultWeb() Web {
	return Web{
		SessionLifetime:   12 * time.Hour,
		ProbePerHour:      20,
		ProbeFleetPerHour: 600,
		ProbeTimeout:      8 * time.Second,
		ProbePorts:        ProbePorts{Submission: 587, Submissions: 465, MX: 25},
		MetricsAllow:      []string{"127.0.0.0/8", "::1/128"},
		ChartInterval:     time.Minute,
	}
}

// ClientHostFor is the client host name for a mail domain.
func (c *Config) ClientHostFor(domain string) string {
	if c.Web.ClientHost == "" {
		return c.Hostname
	}
	return strings.ReplaceAll(c.Web.ClientHost, "{domain}", strings.ToLower(domain))
}

func (c *Config) validateWeb(bad badFunc) {
	w := c.Web
	if strings.ContainsAny(w.ClientHost, " \t/@") {
		bad("web.client_host", "%q is not a host name (\"gw.{domain}\" or \"mail.isp.example\")", w.ClientHost)
	}
	if w.SessionLifetime < time.Minute {
		bad("web.session_lifetime", "%v is below 1m", w.SessionLifetime)
	}
	for _, key := range []struct {
		name string
		list []string
	}{{"web.probe_allow", w.ProbeAllow}, {"web.metrics_allow", w.MetricsAllow}} {
		for _, p := range key.list {
			if _, err := netip.ParsePrefix(p); err != nil {
				bad(key.name, "%q is not a prefix like 127.0.0.0/8", p)
			}
		}
	}
	for _, o := range w.Operators {
		if !strings.Contains(o, "@") {
			bad("web.operators", "%q is not an account address", o)
		}
	}
	if w.ProbePerHour < 1 {
		bad("web.probe_per_hour", "%d must be at least 1", w.ProbePerHour)
	}
	if w.ProbeFleetPerHour < w.ProbePerHour {
		bad("web.probe_fleet_per_hour", "%d is below probe_per_hour (%d)", w.ProbeFleetPerHour, w.ProbePerHour)
	}
	if w.ChartInterval < time.Second || w.ChartInterval > time.Hour {
		bad("web.chart_interval", "%v is outside 1s..1h", w.ChartInterval)
	}
	if w.ProbeTimeout < 100*time.Millisecond || w.ProbeTimeout > time.Minute {
		bad("web.probe_timeout", "%v is outside 100ms..1m", w.ProbeTimeout)
	}
	for name, p := range map[string]int{"submission": w.ProbePorts.Submission, "submissions": w.ProbePorts.Submissions, "mx": w.ProbePorts.MX} {
		if p < 1 || p > 65535 {
			bad("web.probe_ports."+name, "%d is not a port", p)
		}
	}
}
