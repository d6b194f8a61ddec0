package sieve

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Comparators (RFC 4790 §9: i;octet, i;ascii-casemap, i;ascii-numeric) and
// match types (RFC 5228 §2.7.1, RFC 5231 relational, draft-ietf-sieve-regex).

// foldASCII maps A-Z to a-z and leaves every other byte alone, so that
// byte offsets in the result are offsets in the original (i;ascii-casemap
// compares octets after this mapping, RFC 4790 §9.2).
func foldASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// numericValue is i;ascii-numeric's reading of a string (RFC 4790 §9.1.1):
// the leading digits, without leading zeros; inf when there are none.
func numericValue(s string) (digits string, inf bool) {
	n := 0
	for n < len(s) && isDigit(s[n]) {
		n++
	}
	if n == 0 {
		return "", true
	}
	d := strings.TrimLeft(s[:n], "0")
	return d, false
}

// order compares two values under a comparator: <0, 0 or >0.
func order(comparator, a, b string) int {
	switch comparator {
	case "i;ascii-numeric":
		da, ia := numericValue(a)
		db, ib := numericValue(b)
		switch {
		case ia && ib:
			return 0
		case ia:
			return 1
		case ib:
			return -1
		case len(da) != len(db):
			return len(da) - len(db)
		}
		return strings.Compare(da, db)
	case "i;ascii-casemap":
		return strings.Compare(foldASCII(a), foldASCII(b))
	}
	return strings.Compare(a, b)
}

func relate(rel string, cmp int) bool {
	switch rel {
	case "gt":
		return cmp > 0
	case "ge":
		return cmp >= 0
	case "lt":
		return cmp < 0
	case "le":
		return cmp <= 0
	case "eq":
		return cmp == 0
	case "ne":
		return cmp != 0
	}
	return false
}

// matchOne compares one value with one key. For :matches and :regex it
// also returns the match variables (RFC 5229 §3.2): ${0} the whole match,
// then one per wildcard or group.
func matchOne(a *checkedArgs, value, key string, re *keyRegex) (bool, []string) {
	switch a.match {
	case "is":
		return order(a.comparator, value, key) == 0, nil
	case "value":
		return relate(a.relation, order(a.comparator, value, key)), nil
	case "contains":
		if a.comparator == "i;ascii-casemap" {
			return strings.Contains(foldASCII(value), foldASCII(key)), nil
		}
		return strings.Contains(value, key), nil
	case "matches":
		return wildcardMatch(value, key, a.comparator == "i;ascii-casemap")
	case "regex":
		m := re.FindStringSubmatch(value)
		if m == nil {
			return false, nil
		}
		return true, m
	}
	return false, nil
}

type wildKind int

const (
	wLiteral wildKind = iota
	wOne              // ?
	wAny              // *
)

type wildTok struct {
	kind wildKind
	lit  string
}

// parseWildcard splits a :matches key (RFC 5228 §2.7.1): "*" any run of
// characters, "?" one character, "\" makes the next character literal.
func parseWildcard(key string) []wildTok {
	var toks []wildTok
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			toks = append(toks, wildTok{kind: wLiteral, lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(key); i++ {
		switch c := key[i]; c {
		case '*', '?':
			flush()
			k := wAny
			if c == '?' {
				k = wOne
			}
			toks = append(toks, wildTok{kind: k})
		case '\\':
			if i+1 < len(key) {
				i++
				lit.WriteByte(key[i])
			}
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return toks
}

// wildcardMatch matches value against a :matches key, in time bounded by
// len(value)×len(key): on a mismatch only the last "*" grows, which finds
// a match whenever one exists and gives every "*" before it the shortest
// expansion (RFC 5229 §3.2's example: "[*] *" on "[a] [b] c" gives "a").
// "?" is one UTF-8 character.
func wildcardMatch(value, key string, fold bool) (bool, []string) {
	toks := parseWildcard(key)
	text := value
	if fold {
		text = foldASCII(value)
		for i := range toks {
			toks[i].lit = foldASCII(toks[i].lit)
		}
	}
	// capture index of each wildcard token
	capOf := make([]int, len(toks))
	n := 0
	for i, t := range toks {
		capOf[i] = -1
		if t.kind != wLiteral {
			capOf[i] = n
			n++
		}
	}
	caps := make([][2]int, n)
	pi, ti := 0, 0
	starP, starT := -1, 0
	for {
		if pi == len(toks) && ti == len(text) {
			break
		}
		if pi < len(toks) {
			t := toks[pi]
			switch t.kind {
			case wAny:
				caps[capOf[pi]] = [2]int{ti, ti}
				starP, starT = pi, ti
				pi++
				continue
			case wOne:
				if ti < len(text) {
					_, size := utf8.DecodeRuneInString(text[ti:])
					caps[capOf[pi]] = [2]int{ti, ti + size}
					pi++
					ti += size
					continue
				}
			case wLiteral:
				if strings.HasPrefix(text[ti:], t.lit) {
					pi++
					ti += len(t.lit)
					continue
				}
			}
		}
		if starP < 0 || starT >= len(text) {
			return false, nil
		}
		_, size := utf8.DecodeRuneInString(text[starT:])
		starT += size
		caps[capOf[starP]][1] = starT
		pi, ti = starP+1, starT
	}
	vars := make([]string, 0, n+1)
	vars = append(vars, value)
	for _, c := range caps {
		vars = append(vars, value[c[0]:c[1]])
	}
	return true, vars
}

// quoteWildcard escapes the characters special to :matches (RFC 5229 §4.1.2).
func quoteWildcard(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`)
	return r.Replace(s)
}

func itoa(n int) string { return strconv.Itoa(n) }
