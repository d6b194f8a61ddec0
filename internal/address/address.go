// Package address parses and normalizes mailbox addresses the way mailgate
// stores and compares them: domain in its canonical form (lower-case
// A-labels, see CanonicalDomain), local part lower-cased (our mailboxes are
// case-insensitive, as at every ISP), no routing syntax.
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
	local = strings.ToLower(addr[:at])
	if err := checkLocal(local); err != nil {
		return "", "", fmt.Errorf("%w: %q: %v", ErrInvalid, addr, err)
	}
	if domain, err = CanonicalDomain(addr[at+1:]); err != nil {
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
