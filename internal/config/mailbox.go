package config

import (
	"fmt"
	"net/mail"
	"strconv"
	"strings"
)

// Mailbox sets what every account's Maildir is held to.
type Mailbox struct {
	// Quota is the storage quota of an account without its own (mailgate
	// user quota): the octets its Maildir may hold, all folders together.
	// 0 means unlimited, so a node without the setting behaves as before.
	Quota ByteSize `toml:"quota"`
	// QuotaFull says what a delivery to a full mailbox gets (RFC 3463
	// X.2.2 "mailbox full"): "defer" (4.2.2: the sender, or our queue,
	// retries until the message's lifetime, then it bounces) or "reject"
	// (5.2.2: refused, a bounce at once). X.2.2 is meant for both
	// (RFC 3463 §3.3); mailgate defers by default, as Dovecot does with
	// quota_full_tempfail = yes: a subscriber who deletes mail within the
	// queue's lifetime loses nothing, and a full mailbox is not taken by
	// senders for a dead address and dropped from their lists. Operators
	// who want Dovecot's default (permanent) say "reject".
	QuotaFull string `toml:"quota_full"`
	// QuotaWarnings are the usages, in percent of the quota, at which the
	// subscriber gets a notice in INBOX when a delivery takes the mailbox
	// past one (Dovecot's quota_warning): each crossing once, again only
	// after usage went below it and back over. Empty: no notices.
	QuotaWarnings []int `toml:"quota_warnings"`
	// QuotaWarningFrom is the notices' sender; "": postmaster@<hostname>.
	QuotaWarningFrom string `toml:"quota_warning_from"`
}

// Values of Mailbox.QuotaFull.
const (
	QuotaFullDefer  = "defer"
	QuotaFullReject = "reject"
)

func defaultMailbox() Mailbox {
	return Mailbox{QuotaFull: QuotaFullDefer}
}

func (c *Config) validateMailbox(bad badFunc) {
	if c.Mailbox.Quota < 0 {
		bad("mailbox.quota", "%d is negative (0 is unlimited)", c.Mailbox.Quota)
	}
	switch c.Mailbox.QuotaFull {
	case QuotaFullDefer, QuotaFullReject:
	default:
		bad("mailbox.quota_full", "%q is neither %q nor %q", c.Mailbox.QuotaFull, QuotaFullDefer, QuotaFullReject)
	}
	for i, p := range c.Mailbox.QuotaWarnings {
		if p < 1 || p > 100 {
			bad("mailbox.quota_warnings", "%d is not a percentage of the quota from 1 to 100 (e.g. [80, 95])", p)
		} else if i > 0 && p <= c.Mailbox.QuotaWarnings[i-1] {
			bad("mailbox.quota_warnings", "%v: list the percentages from the lowest up, each once (e.g. [80, 95])", c.Mailbox.QuotaWarnings)
		}
	}
	if f := c.Mailbox.QuotaWarningFrom; f != "" {
		if a, err := mail.ParseAddress(f); err != nil || a.Name != "" || !strings.Contains(f, "@") {
			bad("mailbox.quota_warning_from", "%q is not a plain mail address (e.g. postmaster@isp.example)", f)
		}
	}
}

// ByteSize is a size in octets written "0", "1048576", "500MB", "2GiB"
// (SI and IEC units, case-insensitive; "unlimited" is 0).
type ByteSize int64

// UnmarshalText reads a size.
func (b *ByteSize) UnmarshalText(text []byte) error {
	v, err := ParseByteSize(string(text))
	if err != nil {
		return err
	}
	*b = ByteSize(v)
	return nil
}

// MarshalText writes the size in the largest IEC unit that divides it.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(FormatByteSize(int64(b))), nil }

// byteUnits are the multipliers ParseByteSize knows, longest suffix first
// within each length so "KiB" is not read as "B".
var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

// ParseByteSize reads a size such as "2GiB", "500MB", "10M" (binary, as
// Dovecot reads it), "1048576" or "unlimited" (0). It is the one parser of
// sizes for the config, the CLI and the API.
func ParseByteSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "unlimited" {
		return 0, nil
	}
	mult := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q: want a whole number of octets with an optional unit (\"2GiB\", \"500MB\", \"1048576\")", s)
	}
	return n * mult, nil
}

// FormatByteSize writes n in the largest IEC unit that divides it ("2GiB",
// "1536KiB", "1000"); 0 is "0".
func FormatByteSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
