package address

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// CanonicalDomain returns the one form in which mailgate keeps and compares
// a domain: lower-case, no trailing dot, every label an A-label. RFC 5890
// §2.3.2.1 makes a U-label and its A-label ("bücher.example" and
// "xn--bcher-kva.example") the same name, so the store must never hold
// both as two domains, and an address given in either form must find it.
//
// Names that are already plain ASCII host names (RFC 1123 §2.1) are only
// lower-cased, exactly as before. Anything with a non-ASCII character or
// an "xn--" label goes through IDNA2008 (RFC 5891 §5, UTS #46
// non-transitional mapping, as idna.Lookup does): that maps case and width
// variants to one form and refuses an A-label that does not decode to a
// valid U-label, which could otherwise name a second copy of a domain.
func CanonicalDomain(d string) (string, error) {
	d = strings.TrimSuffix(d, ".")
	if !utf8.ValidString(d) {
		return "", fmt.Errorf("domain %q is not valid UTF-8", d)
	}
	if isASCII(d) && !hasACELabel(d) {
		d = strings.ToLower(d)
		return d, CheckDomain(d)
	}
	a, err := idna.Lookup.ToASCII(d)
	if err != nil {
		return "", fmt.Errorf("domain %q is not a valid internationalized domain name (IDNA2008): %v", d, err)
	}
	a = strings.ToLower(a)
	// The stored form must map to itself, or one domain could be kept
	// under two names after all.
	if again, err := idna.Lookup.ToASCII(a); err != nil || again != a {
		return "", fmt.Errorf("domain %q has no stable A-label form (IDNA2008)", d)
	}
	return a, CheckDomain(a)
}

// CheckDomain accepts a fully qualified host name in canonical form (RFC
// 6409 §4.2: the MSA must see fully qualified domains): ASCII letters,
// digits and hyphens per label (RFC 1123 §2.1), which every A-label is.
// CanonicalDomain turns a U-label domain into that form first.
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
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("domain %q has character %q: use letters, digits and '-' (or the U-label form of an internationalized name)", d, c)
			}
		}
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// hasACELabel reports whether a label starts with the ACE prefix "xn--"
// (RFC 5890 §2.3.1), in any case.
func hasACELabel(d string) bool {
	for lb := range strings.SplitSeq(d, ".") {
		if len(lb) >= 4 && strings.EqualFold(lb[:4], "xn--") {
			return true
		}
	}
	return false
}

// ULabelDomain is the Unicode form of a canonical domain with A-labels
// ("xn--bcher-kva.example" -> "bücher.example"), and false when d has no
// A-label or does not decode.
func ULabelDomain(d string) (string, bool) {
	if !hasACELabel(d) {
		return "", false
	}
	u, err := idna.Lookup.ToUnicode(d)
	if err != nil || u == d {
		return "", false
	}
	return u, true
}
