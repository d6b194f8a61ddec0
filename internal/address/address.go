// Package address parses and normalizes mailbox addresses the way mailgate
// stores and compares them: domain lower-cased, local part lower-cased (our
// mailboxes are case-insensitive, as at every ISP), no routing syntax.
package address

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ErrInvalid is wrapped by every parse error.
var ErrInvalid = errors.New("invalid address")

// Split parses addr as local@domain and returns both parts normalized.
//
// It refuses what RFC 2505 §2.1 warns can route mail through us: source
// routes ("@a:u@b"), the '%' hack, UUCP '!' paths, quoted local parts and a
// second '@'. Such addresses are never ours, so refusing them outright
// cannot lose legitimate mail for our users.
func Split(addr string) (local, domain string, err error) {
	if len(addr) > 254 { // RFC 5321 §4.5.3.1.3 path limit less the brackets
		return "", "", fmt.Errorf("%w: %q is longer than 254 octets", ErrInvalid, addr)
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", "", fmt.Errorf("%w: %q is not local@domain", ErrInvalid, addr)
	}
	// RFC 6532 §3.1: non-ASCII is UTF-8. strings.ToLower would turn
	// every invalid byte into U+FFFD, folding different addresses into one.
	if !utf8.ValidString(addr) {
		return "", "", fmt.Errorf("%w: %q is not valid UTF-8", ErrInvalid, addr)
	}
	// Checked after lower-casing, which may change the length in octets.
	local, domain = strings.ToLower(addr[:at]), strings.ToLower(strings.TrimSuffix(addr[at+1:], "."))
	if err := checkLocal(local); err != nil {
		return "", "", fmt.Errorf("%w: %q: %v", ErrInvalid, addr, err)
	}
	if err := CheckDomain(domain); err != nil {
		return "", "", fmt.Errorf("%w: %q: %v", ErrInvalid, addr, err)
	}
	if len(local)+1+len(domain) > 254 {
		return "", "", fmt.Errorf("%w: %q is longer than 254 octets", ErrInvalid, addr)
	}
	return local, domain, nil
}

// Normalize returns addr in the form the store keeps.
func Normalize(addr string) (string, error) {
	l, d, err := Split(addr)
	if err != nil {
		return "", err
	}
	return l + "@" + d, nil
}

// Domain returns the normalized domain of a valid address, or "".
func Domain(addr string) string {
	_, d, err := Split(addr)
	if err != nil {
		return ""
	}
	return d
}

// checkLocal accepts an RFC 5322 dot-atom (§3.2.3) and nothing else.
func checkLocal(l string) error {
	if len(l) > 64 { // RFC 5321 §4.5.3.1.1
		return errors.New("local part longer than 64 octets")
	}
	if l[0] == '.' || l[len(l)-1] == '.' || strings.Contains(l, "..") {
		return errors.New("misplaced dot in local part")
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c >= 0x80:
		case strings.IndexByte("!#$&'*+-/=?^_`{|}~.", c) >= 0:
			// '!' and '%' are atext, but RFC 2505 §2.1 routing tricks:
			// we take neither.
			if c == '!' {
				return errors.New("'!' path routing is not accepted")
			}
		default:
			return fmt.Errorf("character %q not allowed in local part", c)
		}
	}
	return nil
}

// CheckDomain accepts a fully qualified host name (RFC 6409 §4.2: the MSA
// must see fully qualified domains), letters, digits and hyphens per label.
func CheckDomain(d string) error {
	if len(d) == 0 || len(d) > 253 {
		return errors.New("domain empty or longer than 253 octets")
	}
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return fmt.Errorf("domain %q is not fully qualified", d)
	}
	for _, lb := range labels {
		if lb == "" || len(lb) > 63 {
			return fmt.Errorf("domain %q has an empty or over-long label", d)
		}
		if lb[0] == '-' || lb[len(lb)-1] == '-' {
			return fmt.Errorf("domain %q has a label starting or ending with '-'", d)
		}
		for i := 0; i < len(lb); i++ {
			c := lb[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c >= 0x80) {
				return fmt.Errorf("domain %q has character %q", d, c)
			}
		}
	}
	return nil
}
