package sieve

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Variables (RFC 5229).

// validVariableName: identifier (RFC 5229 §3), names are case-insensitive.
func validVariableName(s string) bool {
	if s == "" || isDigit(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isAlpha(c) && !isDigit(c) && c != '_' {
			return false
		}
	}
	return true
}

// maxMatchVariables: ${0}..${9} are kept (RFC 5229 §3.2 asks for at least 10).
const maxMatchVariables = 10

// maxVariableSize bounds a variable's value (Pigeonhole: 4 KiB by default).
const maxVariableSize = 4096

// maxExpandedSize bounds a string once its variables are expanded. A
// value holds maxVariableSize, but a string may name it thousands of
// times: 15,000 "${a}" in a 64 KiB script made 60 MB (300 MB allocated)
// on every run, for each delivery at once. RFC 5229 §3 sets no size; like
// a value set past maxVariableSize, the string is cut (at a character).
const maxExpandedSize = 16 * maxVariableSize

// expand replaces ${name} and ${N} in s (RFC 5229 §3). An unknown variable
// expands to the empty string; text that is not a valid reference stays.
// The result is cut at maxExpandedSize, or at len(s) when that is more.
func (r *run) expand(s string) string {
	if !r.script.Requires["variables"] || !strings.Contains(s, "${") {
		return s
	}
	limit := max(len(s), maxExpandedSize)
	var b strings.Builder
	for {
		if b.Len() >= limit {
			return truncateUTF8(b.String(), limit)
		}
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return truncateUTF8(b.String(), limit)
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			b.WriteString(s)
			return truncateUTF8(b.String(), limit)
		}
		name := s[i+2 : i+2+end]
		val, ok := r.lookup(name)
		if !ok {
			b.WriteString(s[:i+2])
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteString(val)
		s = s[i+3+end:]
	}
}

// lookup resolves one reference; ok is false when name is not a valid
// variable reference and the text must stay as written.
func (r *run) lookup(name string) (string, bool) {
	if name == "" {
		return "", false
	}
	if isDigit(name[0]) {
		n := 0
		for i := 0; i < len(name); i++ {
			if !isDigit(name[i]) {
				return "", false
			}
			if n < 1000 {
				n = n*10 + int(name[i]-'0')
			}
		}
		if n < len(r.matchVars) {
			return r.matchVars[n], true
		}
		return "", true
	}
	if !validVariableName(name) {
		return "", false
	}
	return r.vars[strings.ToLower(name)], true
}

// applyModifiers applies set's modifiers highest precedence first (RFC
// 5229 §4.1): :lower/:upper 40, :lowerfirst/:upperfirst 30,
// :quotewildcard 20, :length 10.
func applyModifiers(v string, tags map[string]Arg) string {
	if _, ok := tags["lower"]; ok {
		v = strings.ToLower(v)
	}
	if _, ok := tags["upper"]; ok {
		v = strings.ToUpper(v)
	}
	if _, ok := tags["lowerfirst"]; ok {
		v = mapFirst(v, unicode.ToLower)
	}
	if _, ok := tags["upperfirst"]; ok {
		v = mapFirst(v, unicode.ToUpper)
	}
	if _, ok := tags["quotewildcard"]; ok {
		v = quoteWildcard(v)
	}
	if _, ok := tags["length"]; ok {
		v = itoa(utf8.RuneCountInString(v))
	}
	return v
}

func mapFirst(s string, f func(rune) rune) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		return s
	}
	return string(f(r)) + s[size:]
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// unknownNamespace returns the namespace of the first ${ns.name}
// reference in s: RFC 5229 §3, a namespace no extension defines is an
// error (none is defined here), "" when there is none.
func unknownNamespace(s string) string {
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			return ""
		}
		s = s[i+2:]
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return ""
		}
		ref := s[:end]
		if dot := strings.IndexByte(ref, '.'); dot > 0 {
			ok := true
			for _, part := range strings.Split(ref, ".") {
				ok = ok && validVariableName(part)
			}
			if ok {
				return ref[:dot]
			}
		}
	}
}
