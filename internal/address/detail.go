package address

import "strings"

// DetailSeparator is the separator between user and detail in a local
// part (RFC 5233 §1: "+" by convention, as Dovecot's and Sendmail's
// default). The MX, sender ownership and Sieve's subaddress extension use
// this one.
const DetailSeparator = "+"

// WithoutDetail returns addr without the detail of its local part
// ("bob+news@example.net" gives "bob@example.net"; the first separator
// starts the detail, RFC 5233 §4) and whether it had one. An address with
// an empty user ("+news@example.net") or a quoted local part is returned
// as it is.
func WithoutDetail(addr string) (string, bool) {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || strings.HasPrefix(addr, `"`) {
		return addr, false
	}
	i := strings.Index(addr[:at], DetailSeparator)
	if i <= 0 {
		return addr, false
	}
	return addr[:i] + addr[at:], true
}
