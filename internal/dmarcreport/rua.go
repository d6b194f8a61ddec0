// Package dmarcreport counts the MX's DMARC verdicts and sends the
// aggregate reports of RFC 7489 §7.2 to the domains that ask for them
// (rua=), as large receivers do.
package dmarcreport

import (
	"net/mail"
	"net/url"
	"strconv"
	"strings"
)

// Destination is one mailto: URI of a record's rua= tag: where a report
// goes, and the largest report it takes (0: no limit).
type Destination struct {
	Address  string
	MaxBytes int64
}

// Domain is the destination address's domain, lower case.
func (d Destination) Domain() string {
	_, dom, _ := strings.Cut(d.Address, "@")
	return strings.ToLower(dom)
}

// ParseRUA reads the URIs of an rua= tag (split at commas, as go-msgauth
// does). RFC 7489 §6.4: dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" /
// "t" ] ], the units powers of two (§6.3: "k" is 1024); commas and "!" in
// the URI itself are percent-encoded. Only mailto: is used (§7.2.1.1,
// the one transport we send by); other schemes, unreadable sizes and
// addresses that are not one mailbox are skipped.
func ParseRUA(uris []string) []Destination {
	var out []Destination
	for _, u := range uris {
		u = strings.TrimSpace(u)
		var size int64
		if i := strings.LastIndexByte(u, '!'); i >= 0 {
			var ok bool
			if size, ok = parseSize(u[i+1:]); !ok {
				continue
			}
			u = u[:i]
		}
		scheme, rest, ok := strings.Cut(u, ":")
		if !ok || !strings.EqualFold(scheme, "mailto") {
			continue
		}
		// RFC 6068 §2: hfields after "?" are not ours to honour.
		rest, _, _ = strings.Cut(rest, "?")
		addr, err := url.PathUnescape(rest)
		if err != nil {
			continue
		}
		a, err := mail.ParseAddress(addr)
		if err != nil || a.Name != "" || !strings.Contains(a.Address, "@") {
			continue
		}
		out = append(out, Destination{Address: a.Address, MaxBytes: size})
	}
	return out
}

// parseSize reads 1*DIGIT [ "k" / "m" / "g" / "t" ].
func parseSize(s string) (int64, bool) {
	shift := 0
	if s != "" {
		switch s[len(s)-1] {
		case 'k', 'K':
			shift = 10
		case 'm', 'M':
			shift = 20
		case 'g', 'G':
			shift = 30
		case 't', 'T':
			shift = 40
		}
		if shift > 0 {
			s = s[:len(s)-1]
		}
	}
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)>>shift {
		return 0, false
	}
	return n << shift, true
}
