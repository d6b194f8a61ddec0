package authres

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"
)

// checkSPFSyntax checks a whole SPF record against the ABNF of RFC 7208
// (§4.6.1 terms, §5 mechanisms, §6 modifiers, §7.1 macros). §4.6: "if
// there are any syntax errors anywhere in the record, check_host() returns
// immediately with the result 'permerror', without further interpretation
// or evaluation" — the SPF library evaluates lazily and stops at the first
// match, so CheckSPF runs this over every record the evaluation fetched.
func checkSPFSyntax(rec string) error {
	for i := 0; i < len(rec); i++ {
		// §3.1/§4.6.1: the record is 7-bit text; terms are separated by
		// spaces (SP) only.
		if rec[i] < 0x20 || rec[i] > 0x7e {
			return fmt.Errorf("character %q at %d is not printable US-ASCII", rec[i], i)
		}
	}
	terms := strings.Split(rec, " ")
	if !strings.EqualFold(terms[0], "v=spf1") {
		return errors.New("not an SPF version 1 record")
	}
	seen := map[string]bool{}
	for _, term := range terms[1:] {
		if term == "" {
			continue // 1*SP between terms, *SP at the end
		}
		name, val, isMod := modifier(term)
		if isMod {
			name = strings.ToLower(name)
			if name == "redirect" || name == "exp" {
				// §6: "MUST NOT appear in a record more than once each".
				if seen[name] {
					return fmt.Errorf("%s= appears twice", name)
				}
				seen[name] = true
				// The c, r, t letters belong to the explanation text
				// fetched from there, not to the name (§7.1, §6.2).
				if err := checkDomainSpec(val, false); err != nil {
					return fmt.Errorf("%s: %w", term, err)
				}
			} else if err := checkMacroString(val, false); err != nil {
				return fmt.Errorf("%s: %w", term, err)
			}
			continue
		}
		if err := checkDirective(term); err != nil {
			return fmt.Errorf("%s: %w", term, err)
		}
	}
	return nil
}

var modName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9._-]*=`)

// modifier splits name=value (§4.6.1: modifiers are name "=" ...;
// mechanisms never contain "=" before a ":" or "/").
func modifier(term string) (name, val string, ok bool) {
	if m := modName.FindString(term); m != "" {
		return m[:len(m)-1], term[len(m):], true
	}
	return "", "", false
}

var (
	cidrSuffix = regexp.MustCompile(`(/[0-9]+)?(//[0-9]+)?$`)
	cidr4      = regexp.MustCompile(`^/(0|[1-9][0-9]?)$`)
	cidr6      = regexp.MustCompile(`^/(0|[1-9][0-9]?[0-9]?)$`)
)

// checkDirective: [ qualifier ] mechanism (§4.6.2, §5).
func checkDirective(term string) error {
	if strings.ContainsAny(term[:1], "+-?~") {
		term = term[1:]
	}
	mech, arg, hasArg := strings.Cut(term, ":")
	lower := strings.ToLower(mech)
	switch {
	case lower == "all" && !hasArg:
		return nil
	case lower == "include" || lower == "exists":
		if !hasArg {
			return errors.New("needs a domain")
		}
		return checkDomainSpec(arg, false)
	case lower == "ptr":
		if hasArg {
			return checkDomainSpec(arg, false)
		}
		return nil
	case lower == "ip4" || lower == "ip6":
		if !hasArg {
			return errors.New("needs a network")
		}
		network, length, _ := strings.Cut(arg, "/")
		ip, err := netip.ParseAddr(network)
		if err != nil || ip.Is4() != (lower == "ip4") || ip.Zone() != "" {
			return fmt.Errorf("%q is not an %s address", network, lower)
		}
		if strings.Contains(arg, "/") {
			re := cidr4
			max := 32
			if lower == "ip6" {
				re, max = cidr6, 128
			}
			if !re.MatchString("/"+length) || atoi(length) > max {
				return fmt.Errorf("bad prefix length /%s", length)
			}
		}
		return nil
	}
	// a and mx: name [ ":" domain-spec ] [ dual-cidr-length ].
	_, spec, cidr, ok := splitDomainMechanism(term)
	if !ok {
		return errors.New("unknown mechanism")
	}
	if cidr[1] != "" && (!cidr4.MatchString(cidr[1]) || atoi(cidr[1][1:]) > 32) {
		return fmt.Errorf("bad IPv4 prefix length %s", cidr[1])
	}
	if cidr[2] != "" && (!cidr6.MatchString(cidr[2][1:]) || atoi(cidr[2][2:]) > 128) {
		return fmt.Errorf("bad IPv6 prefix length %s", cidr[2])
	}
	if spec == "" {
		return nil
	}
	if !strings.HasPrefix(spec, ":") {
		return errors.New("unknown mechanism")
	}
	return checkDomainSpec(spec[1:], false)
}

// splitDomainMechanism splits an a or mx mechanism (qualifier removed)
// into its name, its [ ":" domain-spec ] and its dual-cidr-length, as
// submatches of cidrSuffix (§5.3, §5.4). The cidr-length is only what
// ends the term: a "/" before it belongs to the domain-spec, which may
// hold any visible character but "%" outside a macro (§7.1).
func splitDomainMechanism(term string) (name, spec string, cidr []string, ok bool) {
	lower := strings.ToLower(term)
	switch {
	case strings.HasPrefix(lower, "mx"):
		name = term[:2]
	case strings.HasPrefix(lower, "a"):
		name = term[:1]
	default:
		return "", "", nil, false
	}
	rest := term[len(name):]
	cidr = cidrSuffix.FindStringSubmatch(rest)
	return name, rest[:len(rest)-len(cidr[0])], cidr, true
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
		if n > 1000 {
			return n
		}
	}
	return n
}

var toplabel = regexp.MustCompile(`^([A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9])$`)

// checkDomainSpec: domain-spec = macro-string domain-end, domain-end =
// ( "." toplabel [ "." ] ) / macro-expand (§7.1).
func checkDomainSpec(s string, exp bool) error {
	if err := checkMacroString(s, exp); err != nil {
		return err
	}
	if strings.HasSuffix(s, "}") && strings.LastIndex(s, "%{") >= 0 {
		return nil // ends in a macro-expand
	}
	// "%%", "%_", "%-" are macro-expands too, but then a literal toplabel
	// cannot end the name: fall through to the toplabel check.
	t := strings.TrimSuffix(s, ".")
	dot := strings.LastIndexByte(t, '.')
	if dot < 0 {
		return errors.New("the domain has no top-level label after a dot")
	}
	if label := t[dot+1:]; !toplabel.MatchString(label) || strings.Contains(label, "%") {
		return fmt.Errorf("%q is not a valid top-level label", label)
	}
	return nil
}

// checkMacroString: every "%" starts a macro-expand (§7.1); the letters
// c, r and t are only for exp= text (§7.2).
func checkMacroString(s string, exp bool) error {
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		if i+1 >= len(s) {
			return errors.New("a lone % ends the string")
		}
		switch s[i+1] {
		case '%', '_', '-':
			i++
			continue
		case '{':
		default:
			return fmt.Errorf("%%%c is not a macro", s[i+1])
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return errors.New("unterminated macro")
		}
		body := s[i+2 : i+end]
		if !macroBody.MatchString(body) {
			return fmt.Errorf("%%{%s} is not a macro", body)
		}
		if strings.ContainsAny(body[:1], "crtCRT") && !exp {
			return fmt.Errorf("%%{%c} is only allowed in exp= text", body[0])
		}
		i += end
	}
	return nil
}

// macro-letter transformers *delimiter (§7.1).
var macroBody = regexp.MustCompile(`^[slodiphcrtvSLODIPHCRTV][0-9]*[rR]?[.+,/_=-]*$`)
