package authres

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// spfMacros are the values of one SPF check's macro letters (RFC 7208
// §7.2), but for <domain>, which changes with include and redirect.
type spfMacros struct {
	sender string // <sender>: MAIL FROM, or postmaster@HELO (§2.4)
	helo   string
	ip     netip.Addr
}

// expand expands the macro-string of a domain-spec (RFC 7208 §7.1) as a
// check of domain sees it, for the terms the SPF library cannot read
// (hideSlashes). It expands as blitiri.com.ar/go/spf does, so a record
// means the same with or without a "/" in it: %{p} is "unknown" (§7.3:
// "SHOULD NOT be used"; "unknown" is its value when no name is
// validated), parts are split on runs of delimiters, and a count of 0
// parts is an error. c, r and t (exp= only, §7.2) are errors.
func (m spfMacros) expand(s, domain string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 >= len(s) {
			return "", errors.New("a lone % ends the string")
		}
		i++
		switch s[i] {
		case '%':
			b.WriteByte('%')
			continue
		case '_':
			b.WriteByte(' ')
			continue
		case '-':
			b.WriteString("%20")
			continue
		case '{':
		default:
			return "", fmt.Errorf("%%%c is not a macro", s[i])
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", errors.New("unterminated macro")
		}
		v, err := m.expandOne(s[i+1:i+end], domain)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
		i += end
	}
	return truncateName(b.String()), nil
}

// expandOne expands one macro-expand's body: macro-letter transformers
// *delimiter (§7.1, §7.3).
func (m spfMacros) expandOne(body, domain string) (string, error) {
	if !macroBody.MatchString(body) {
		return "", fmt.Errorf("%%{%s} is not a macro", body)
	}
	letter := body[0]
	rest := body[1:]
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	digits := 0
	if n > 0 {
		// RFC 7208 §7.1: the count must be nonzero; one larger than the
		// parts there are (any that overflows an int among them) means
		// the whole expansion.
		d, err := strconv.Atoi(rest[:n])
		switch {
		case err != nil && strings.Trim(rest[:n], "0") != "":
			digits = math.MaxInt
		case err != nil || d == 0:
			return "", fmt.Errorf("%%{%s}: a part count of 0", body)
		default:
			digits = d
		}
	}
	rest = rest[n:]
	reverse := rest != "" && (rest[0] == 'r' || rest[0] == 'R')
	if reverse {
		rest = rest[1:]
	}
	delims := rest
	if delims == "" {
		delims = "."
	}

	local, dom, _ := strings.Cut(m.sender, "@")
	var v string
	switch letter | 0x20 { // lower case
	case 's':
		v = m.sender
	case 'l':
		v = local
	case 'o':
		v = dom
	case 'd':
		v = domain
	case 'i':
		v = macroIP(m.ip)
	case 'p':
		v = "unknown"
	case 'v':
		v = "ip6"
		if m.ip.Unmap().Is4() {
			v = "in-addr"
		}
	case 'h':
		v = m.helo
	default:
		return "", fmt.Errorf("%%{%c} is only allowed in exp= text", letter)
	}

	parts := strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(delims, r) })
	if reverse {
		for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
			parts[i], parts[j] = parts[j], parts[i]
		}
	}
	if digits > 0 && digits < len(parts) {
		parts = parts[len(parts)-digits:]
	}
	v = strings.Join(parts, ".")
	if letter >= 'A' && letter <= 'Z' {
		v = urlEscape(v)
	}
	return v, nil
}

// macroIP is %{i}: dotted-quad for IPv4, dot-separated nibbles for IPv6
// (§7.3).
func macroIP(ip netip.Addr) string {
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	a := ip.As16()
	const hexd = "0123456789abcdef"
	b := make([]byte, 0, 63)
	for i, x := range a {
		if i > 0 {
			b = append(b, '.')
		}
		b = append(b, hexd[x>>4], '.', hexd[x&0xf])
	}
	return string(b)
}

// urlEscape is the escaping of uppercase macros: every octet outside
// RFC 3986's unreserved set as %XX (§7.3).
func urlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// truncateName keeps an expanded name within 253 characters by removing
// labels from the left (§7.3).
func truncateName(s string) string {
	for len(s) > 253 {
		dot := strings.IndexByte(s, '.')
		if dot < 0 {
			return s
		}
		s = s[dot+1:]
	}
	return s
}
