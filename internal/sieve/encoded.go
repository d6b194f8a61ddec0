package sieve

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// decodeEncodedCharacters applies the "encoded-character" extension (RFC
// 5228 §2.4.2.4): ${hex:41 42} is the octets 0x41 0x42, ${unicode:263a}
// the character U+263A. A malformed sequence stays as written.
func decodeEncodedCharacters(s string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		rest := s[i+2:]
		end := strings.IndexByte(rest, '}')
		colon := strings.IndexByte(rest, ':')
		if end < 0 || colon < 0 || colon > end {
			b.WriteString("${")
			s = rest
			continue
		}
		kind, body := strings.ToLower(rest[:colon]), rest[colon+1:end]
		decoded, ok := decodeSequence(kind, body)
		if !ok {
			b.WriteString("${")
			s = rest
			continue
		}
		b.WriteString(decoded)
		s = rest[end+1:]
	}
}

func decodeSequence(kind, body string) (string, bool) {
	fields := strings.Fields(body)
	if len(fields) == 0 {
		return "", kind == "hex" || kind == "unicode"
	}
	var b strings.Builder
	for _, f := range fields {
		switch kind {
		case "hex":
			// RFC 5228 §2.4.2.4: hex-pair = 1*2HEXDIG
			if len(f) > 2 {
				return "", false
			}
			n, err := strconv.ParseUint(f, 16, 8)
			if err != nil {
				return "", false
			}
			b.WriteByte(byte(n))
		case "unicode":
			n, err := strconv.ParseUint(f, 16, 32)
			if err != nil || len(f) > 8 || !utf8.ValidRune(rune(n)) {
				return "", false
			}
			b.WriteRune(rune(n))
		default:
			return "", false
		}
	}
	return b.String(), true
}
