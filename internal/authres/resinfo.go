package authres

import "strings"

// ResInfo is one result of an Authentication-Results value (RFC 8601
// §2.2 resinfo): method=result and its properties, comments removed.
type ResInfo struct {
	Method, Result string            // lower case
	Props          map[string]string // "ptype.property" (lower case) → value, unquoted
}

// ParseResults reads an Authentication-Results value, or an
// ARC-Authentication-Results one after its i= tag (RFC 8617 §4.1.1): the
// authserv-id and each resinfo. It is lenient, as a reader of fields
// others wrote must be: a resinfo it cannot read is skipped, never an
// error, and "none" gives no results.
func ParseResults(v string) (authservID string, results []ResInfo) {
	parts := splitOutside(stripComments(v), ';')
	if len(parts) == 0 {
		return "", nil
	}
	// authserv-id [CFWS authres-version]
	if f := fields(parts[0]); len(f) > 0 {
		authservID = unquote(f[0])
	}
	for _, p := range parts[1:] {
		f := fields(p)
		if len(f) == 0 {
			continue
		}
		method, result, ok := strings.Cut(f[0], "=")
		if !ok {
			continue
		}
		// methodspec: method [ "/" version ] "=" result.
		method, _, _ = strings.Cut(method, "/")
		ri := ResInfo{Method: strings.ToLower(method), Result: strings.ToLower(result), Props: map[string]string{}}
		for _, prop := range f[1:] {
			k, val, ok := strings.Cut(prop, "=")
			if !ok || !strings.Contains(k, ".") {
				continue // reason= or something unreadable
			}
			ri.Props[strings.ToLower(k)] = unquote(val)
		}
		results = append(results, ri)
	}
	return authservID, results
}

// stripComments replaces RFC 5322 comments (nested, with quoted-pairs)
// outside quoted-strings by a space.
func stripComments(v string) string {
	var b strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && (depth > 0 || quoted):
			if depth == 0 && i+1 < len(v) {
				b.WriteByte(c)
				b.WriteByte(v[i+1])
			}
			i++
		case quoted:
			b.WriteByte(c)
			quoted = c != '"'
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
			if depth == 0 {
				b.WriteByte(' ')
			}
		case depth > 0:
		default:
			b.WriteByte(c)
			quoted = c == '"'
		}
	}
	return b.String()
}

// splitOutside splits v at sep outside quoted-strings.
func splitOutside(v string, sep byte) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\\' && quoted:
			i++
		case v[i] == '"':
			quoted = !quoted
		case v[i] == sep && !quoted:
			out = append(out, v[start:i])
			start = i + 1
		}
	}
	return append(out, v[start:])
}

// fields splits a resinfo into words at white space outside quotes,
// white space around "=" and "/" dropped first (CFWS may stand there,
// RFC 8601 §2.2).
func fields(v string) []string {
	var words []string
	var b strings.Builder
	quoted := false
	flush := func() {
		if b.Len() > 0 {
			words = append(words, b.String())
			b.Reset()
		}
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' && quoted && i+1 < len(v):
			b.WriteByte(c)
			b.WriteByte(v[i+1])
			i++
		case c == '"':
			quoted = !quoted
			b.WriteByte(c)
		case !quoted && (c == ' ' || c == '\t' || c == '\r' || c == '\n'):
			flush()
		default:
			b.WriteByte(c)
		}
	}
	flush()
	// Join "a", "=", "b" and "a=", "b" back into "a=b" (and "/" alike).
	var out []string
	for _, w := range words {
		if n := len(out); n > 0 && (strings.HasSuffix(out[n-1], "=") || strings.HasSuffix(out[n-1], "/") ||
			strings.HasPrefix(w, "=") || strings.HasPrefix(w, "/")) {
			out[n-1] += w
			continue
		}
		out = append(out, w)
	}
	return out
}

// unquote reads a value: quoted-strings (the whole value, or a quoted
// local-part of an address) lose their quotes and quoted-pairs.
func unquote(v string) string {
	if !strings.Contains(v, `"`) {
		return v
	}
	var b strings.Builder
	quoted := false
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '"':
			quoted = !quoted
		case v[i] == '\\' && quoted && i+1 < len(v):
			i++
			b.WriteByte(v[i])
		default:
			b.WriteByte(v[i])
		}
	}
	return b.String()
}
