package config

import (
	"net"
	"strings"
	"time"
)

// Scan names the content scanners running beside the node and what to do
// with their answers. With no endpoint set nothing is scanned.
type Scan struct {
	// Clamd is clamd's host:port or unix socket path; "" = no virus check.
	Clamd string `toml:"clamd"`
	// Rspamd is rspamd's normal worker, host:port or unix socket path;
	// "" = no spam check.
	Rspamd string `toml:"rspamd"`
	// RspamdController is rspamd's controller worker; set, messages
	// subscribers move into Junk are learned as spam and those moved out
	// as ham (rspamd's Bayes needs Redis). RspamdPasswordFile holds the
	// controller's password ("" from an address in its secure_ip).
	RspamdController   string `toml:"rspamd_controller"`
	RspamdPasswordFile string `toml:"rspamd_password_file"`
	// Timeout bounds one scan (connect, send, answer).
	Timeout time.Duration `toml:"timeout"`
	// MaxBytes: larger messages are not sent to the scanners; 0 means
	// limits.max_message_bytes (everything accepted is scanned).
	MaxBytes int64 `toml:"max_bytes"`

	Virus ScanVirus `toml:"virus"`
	Spam  ScanSpam  `toml:"spam"`
}

// ScanVirus is the virus check (MX and submission).
type ScanVirus struct {
	// OnError: "tempfail" (451 4.7.0) or "accept" (delivered with
	// X-Virus-Scan: unchecked) when clamd is down or errs.
	OnError string `toml:"on_error"`
	// Oversize: "reject" (552 5.3.4) or "accept" (X-Virus-Scan:
	// unchecked) for messages over max_bytes or clamd's StreamMaxLength.
	Oversize string `toml:"oversize"`
}

// ScanSpam is the spam-check service (MX; submission is only scored).
type ScanSpam struct {
	// OnError: "accept" (X-Spam-Flag: UNCHECKED) or "tempfail" (451 4.7.1).
	OnError string `toml:"on_error"`
	// Reject answers rspamd's "reject" with 550 5.7.1; off, such mail is
	// spam for the subscriber's choice.
	Reject bool `toml:"reject"`
	// Greylist answers rspamd's "greylist" with 451 4.7.1.
	Greylist bool `toml:"greylist"`
	// The choice of a subscriber who made none: "header", "tag" or "junk";
	// the subject tag; the score from which mail is spam (0: rspamd's
	// actions decide).
	Action    string  `toml:"action"`
	Tag       string  `toml:"tag"`
	Threshold float64 `toml:"threshold"`
}

func defaultScan() Scan {
	return Scan{
		Timeout: 30 * time.Second,
		Virus:   ScanVirus{OnError: "tempfail", Oversize: "reject"},
		Spam:    ScanSpam{OnError: "accept", Greylist: true, Action: "tag", Tag: "[SPAM]"},
	}
}

func (c *Config) validateScan(bad badFunc) {
	s := c.Scan
	for key, ep := range map[string]string{"scan.clamd": s.Clamd, "scan.rspamd": s.Rspamd, "scan.rspamd_controller": s.RspamdController} {
		if ep == "" || strings.HasPrefix(ep, "/") {
			continue
		}
		if host, port, err := net.SplitHostPort(ep); err != nil || host == "" || port == "" {
			bad(key, "%q is neither host:port nor an absolute unix socket path", ep)
		}
	}
	if s.Timeout < 100*time.Millisecond {
		bad("scan.timeout", "%v is below 100ms", s.Timeout)
	}
	if s.MaxBytes < 0 {
		bad("scan.max_bytes", "%d is negative (0 = limits.max_message_bytes)", s.MaxBytes)
	}
	oneOf(bad, "scan.virus.on_error", s.Virus.OnError, "tempfail", "accept")
	oneOf(bad, "scan.virus.oversize", s.Virus.Oversize, "reject", "accept")
	oneOf(bad, "scan.spam.on_error", s.Spam.OnError, "accept", "tempfail")
	oneOf(bad, "scan.spam.action", s.Spam.Action, "header", "tag", "junk")
	if t := s.Spam.Tag; t == "" || len(t) > 40 || strings.ContainsAny(t, "\r\n") {
		bad("scan.spam.tag", "%q must be 1-40 characters on one line", t)
	}
	if s.Spam.Threshold < 0 {
		bad("scan.spam.threshold", "%v is negative (0 = rspamd's actions decide)", s.Spam.Threshold)
	}
}

// ScanMaxBytes is scan.max_bytes with its default filled in.
func (c *Config) ScanMaxBytes() int64 {
	if c.Scan.MaxBytes > 0 {
		return c.Scan.MaxBytes
	}
	return c.Limits.MaxMessageBytes
}

func oneOf(bad badFunc, key, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	bad(key, "%q is not one of %s", v, strings.Join(allowed, ", "))
}
