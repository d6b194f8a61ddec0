package authres

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// dkimSig is what we read ourselves from one DKIM-Signature field: the
// tags the Authentication-Results need (RFC 8601 §2.7.1: header.d, .i,
// .s, .a, .b) and the body length l= (RFC 6376 §3.5).
type dkimSig struct {
	tags    map[string]string
	d, i, s string
	a       string
	b       string // b= with white space removed
	bodyCan string // "simple" or "relaxed"
	length  int64  // l=, -1 when absent
}

// parseTagList parses a DKIM tag-list (RFC 6376 §3.2): tag=value pairs
// separated by ";", white space (folding included) around tags and
// values ignored, a trailing ";" allowed, a duplicate tag an error.
func parseTagList(v string) (map[string]string, error) {
	tags := map[string]string{}
	for _, spec := range strings.Split(v, ";") {
		name, val, ok := strings.Cut(spec, "=")
		name = strings.Trim(name, " \t\r\n")
		if !ok {
			if name == "" {
				continue
			}
			return nil, fmt.Errorf("tag %q has no value", name)
		}
		if name == "" {
			return nil, errors.New("a value without a tag name")
		}
		for _, c := range name { // tag-name = ALPHA *ALNUMPUNC
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
				return nil, fmt.Errorf("tag name %q", name)
			}
		}
		if _, dup := tags[name]; dup {
			// §3.2: "Tags with duplicate names MUST NOT occur within a
			// single tag-list; if a tag name does occur more than once,
			// the entire tag-list is invalid."
			return nil, fmt.Errorf("tag %q twice", name)
		}
		tags[name] = strings.Trim(val, " \t\r\n")
	}
	return tags, nil
}

func noSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
}

// parseDKIMSignature reads the value of a DKIM-Signature field.
func parseDKIMSignature(v string) (*dkimSig, error) {
	tags, err := parseTagList(v)
	if err != nil {
		return nil, err
	}
	s := &dkimSig{tags: tags, d: strings.ToLower(noSpace(tags["d"])), i: noSpace(tags["i"]),
		s: noSpace(tags["s"]), a: strings.ToLower(noSpace(tags["a"])), b: noSpace(tags["b"]),
		bodyCan: "simple", length: -1}
	if c := noSpace(tags["c"]); c != "" {
		_, body, ok := strings.Cut(c, "/")
		if ok {
			s.bodyCan = strings.ToLower(body)
		}
	}
	if l, ok := tags["l"]; ok {
		// §3.5: l= is 1*76DIGIT.
		n, err := strconv.ParseInt(noSpace(l), 10, 64)
		if err != nil || n < 0 || len(noSpace(l)) > 76 {
			return nil, fmt.Errorf("l=%q is not a length", l)
		}
		s.length = n
	}
	return s, nil
}

// canonicalBody is the body after DKIM body canonicalization (RFC 6376
// §3.4.3 simple, §3.4.4 relaxed): what bh= hashes and l= counts.
func canonicalBody(body []byte, can string) []byte {
	out := make([]byte, 0, len(body)+2)
	pending := 0 // empty lines held back until a non-empty one follows
	for len(body) > 0 {
		end := indexCRLF(body)
		var text []byte
		if end < 0 {
			text, body = body, nil // a last line without CRLF gets one
		} else {
			text, body = body[:end], body[end+2:]
		}
		if can == "relaxed" {
			text = []byte(strings.TrimRight(collapseWSP(string(text)), " "))
		}
		if len(text) == 0 {
			pending++
			continue
		}
		for ; pending > 0; pending-- {
			out = append(out, '\r', '\n')
		}
		out = append(append(out, text...), '\r', '\n')
	}
	if len(out) == 0 && can != "relaxed" {
		return []byte("\r\n") // §3.4.3: an empty body is a single CRLF
	}
	return out
}

func indexCRLF(b []byte) int {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' {
			return i
		}
	}
	return -1
}

// collapseWSP turns each run of spaces and tabs into one space (§3.4.4).
func collapseWSP(s string) string {
	var b strings.Builder
	space := false
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' || s[i] == '\t' {
			space = true
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteByte(s[i])
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}
