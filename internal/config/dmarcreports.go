package config

import (
	"net/mail"
	"strings"
	"time"
)

// DMARCReports is [dmarc_reports]: the aggregate reports (RFC 7489 §7.2)
// we send to the domains whose mail our MX judged and whose DMARC record
// asks for them with rua=.
type DMARCReports struct {
	// Enabled counts verdicts and sends reports. Off by default: a
	// report names the sending IPs our subscribers' correspondents use
	// and the volumes they send, so an ISP turns it on knowingly, with a
	// From address in a domain whose DKIM key and SPF record are
	// published (reports that fail DMARC themselves are discarded).
	Enabled bool `toml:"enabled"`
	// OrgName is report_metadata's org_name (Appendix C): who we are.
	OrgName string `toml:"org_name"`
	// From sends the reports and is report_metadata's email; its domain
	// must be one of ours (the node checks at start) and names us as the
	// report's "receiver" and Submitter (§7.2.1.1).
	From string `toml:"from"`
	// Interval is the reporting period: counts are kept per period and
	// sent when it ends (24h: UTC days, §7.2 ri= default).
	Interval time.Duration `toml:"interval"`
	// FlushInterval is how often the counts kept in memory are written
	// to the database: a crash loses at most this long's counts.
	FlushInterval time.Duration `toml:"flush_interval"`
}

func defaultDMARCReports() DMARCReports {
	return DMARCReports{Interval: 24 * time.Hour, FlushInterval: time.Minute}
}

func (c *Config) validateDMARCReports(bad badFunc) {
	r := c.DMARCReports
	if r.Interval < time.Hour {
		bad("dmarc_reports.interval", "%v is below 1h (RFC 7489 §7.2: receivers report at most hourly)", r.Interval)
	}
	if r.FlushInterval < time.Second || r.FlushInterval > r.Interval {
		bad("dmarc_reports.flush_interval", "%v is not between 1s and the interval", r.FlushInterval)
	}
	if !r.Enabled {
		return
	}
	if strings.TrimSpace(r.OrgName) == "" {
		bad("dmarc_reports.org_name", "is empty: name the organization the reports come from")
	}
	if a, err := mail.ParseAddress(r.From); err != nil || a.Name != "" || !strings.Contains(r.From, "@") {
		bad("dmarc_reports.from", "%q is not a plain mail address (e.g. dmarc-reports@isp.example)", r.From)
	}
}
