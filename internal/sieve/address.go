package sieve

import (
	"mailgate/internal/address"
	"net/mail"
	"strings"
)

// An address as the address and envelope tests see it (RFC 5228 §2.7.4).
type parsedAddr struct {
	all   string
	valid bool // has a local part and a domain we could split
}

// headerAddresses reads the addresses of a header field value. A value
// that is not an address list is one invalid address: :all still compares
// it, :localpart and :domain never match it (RFC 5228 §2.7.4).
func headerAddresses(v string) []parsedAddr {
	v = strings.ReplaceAll(strings.ReplaceAll(v, "\r\n", ""), "\n", "")
	list, err := mail.ParseAddressList(v)
	if err != nil || len(list) == 0 {
		// Pigeonhole too reads a value without addresses (an empty
		// group such as "undisclosed-recipients:;") as one invalid one.
		v = strings.TrimSpace(v)
		if v == "" {
			return nil
		}
		return []parsedAddr{{all: v}}
	}
	out := make([]parsedAddr, 0, len(list))
	for _, a := range list {
		out = append(out, parsedAddr{all: a.Address, valid: strings.Contains(a.Address, "@")})
	}
	return out
}

// envelopeAddress is an envelope address: RFC 5228 §5.4, the null
// reverse-path is the empty string whatever the address part.
func envelopeAddress(v string) parsedAddr {
	v = strings.TrimSuffix(strings.TrimPrefix(v, "<"), ">")
	return parsedAddr{all: v, valid: v != "" && strings.Contains(v, "@")}
}

// subaddressSeparator is RFC 5233's separator between user and detail,
// the one the MX resolves recipients with.
const subaddressSeparator = address.DetailSeparator

// addressPart picks a part of an address. ok is false when the part does
// not exist: :localpart or :domain of an invalid address, :detail of an
// address without a separator (RFC 5233 §4).
func addressPart(a parsedAddr, part string) (string, bool) {
	if part == "all" {
		return a.all, true
	}
	if !a.valid {
		if a.all == "" {
			return "", true // null reverse-path
		}
		return "", false
	}
	at := strings.LastIndexByte(a.all, '@')
	local, domain := a.all[:at], a.all[at+1:]
	switch part {
	case "localpart":
		return local, true
	case "domain":
		return domain, true
	case "user":
		if i := strings.Index(local, subaddressSeparator); i >= 0 {
			return local[:i], true
		}
		return local, true
	case "detail":
		if i := strings.Index(local, subaddressSeparator); i >= 0 {
			return local[i+1:], true
		}
		return "", false
	}
	return "", false
}

// parseRedirectAddress checks a redirect target: a bare addr-spec or a
// name-addr (RFC 5228 §4.2), returned as the addr-spec.
func parseRedirectAddress(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", err
	}
	return a.Address, nil
}
