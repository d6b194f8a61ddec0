package authres

import (
	"bytes"
	"strings"

	"mailgate/internal/message"
)

// field is one header field of a message as it arrived: its name and its
// whole text, continuation lines and final CRLF included.
type field struct {
	name  string
	raw   []byte
	start int // offset of raw in the message
}

// splitHeader returns the header fields of a CRLF message and the offset
// of its body (after the empty line; len(msg) when there is none). Lines
// before the first field that are not fields (no colon) stay attached to
// no field and are kept by the callers that rebuild the header.
func splitHeader(msg []byte) (fields []field, body int) {
	i := 0
	for i < len(msg) {
		end := bytes.Index(msg[i:], []byte("\r\n"))
		if end < 0 {
			end = len(msg) - i
		} else {
			end += 2
		}
		line := msg[i : i+end]
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return fields, i + end
		}
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			// RFC 5322 §2.2.3: a folded continuation line.
			last := &fields[len(fields)-1]
			last.raw = msg[i-len(last.raw) : i+end]
		} else {
			name, _, _ := bytes.Cut(line, []byte(":"))
			fields = append(fields, field{name: string(bytes.TrimRight(name, " \t")), raw: line, start: i})
		}
		i += end
	}
	return fields, len(msg)
}

// value returns the field's body: after the colon, unfolded (RFC 5322
// §2.2.3: CRLF before WSP removed).
func (f field) value() string {
	_, v, _ := bytes.Cut(f.raw, []byte(":"))
	s := strings.ReplaceAll(string(v), "\r\n", "")
	return strings.TrimSpace(s)
}

// RemoveForged removes the Authentication-Results fields that claim to be
// ours (authserv-id equal to id, case-insensitively): RFC 8601 §5, a
// receiver MUST remove such fields from outside its ADMD, or a sender
// could write our verdict. It returns the message unchanged (the same
// slice) and 0 when there is none.
func RemoveForged(msg []byte, id string) ([]byte, int) {
	return message.RemoveFields(msg, func(msg []byte, f message.Field) bool {
		return strings.EqualFold(f.Name, "Authentication-Results") && strings.EqualFold(AuthservID(f.Value(msg)), id)
	})
}

// AuthservID returns the authserv-id of an Authentication-Results value
// (RFC 8601 §2.2: authserv-id = value, i.e. a token or a quoted-string,
// possibly after comments). "" when there is none.
func AuthservID(v string) string {
	v = skipCFWS(v)
	if strings.HasPrefix(v, `"`) {
		var b strings.Builder
		for i := 1; i < len(v); i++ {
			switch v[i] {
			case '\\':
				if i+1 < len(v) {
					i++
					b.WriteByte(v[i])
				}
			case '"':
				return b.String()
			default:
				b.WriteByte(v[i])
			}
		}
		return "" // unterminated
	}
	end := strings.IndexFunc(v, func(r rune) bool {
		return r == ';' || r == '(' || r == ' ' || r == '\t' || r == '\r' || r == '\n'
	})
	if end < 0 {
		end = len(v)
	}
	return v[:end]
}

// skipCFWS drops leading white space and (nested) comments (RFC 5322 §3.2.2).
func skipCFWS(v string) string {
	for {
		v = strings.TrimLeft(v, " \t\r\n")
		if !strings.HasPrefix(v, "(") {
			return v
		}
		depth := 0
		i := 0
	scan:
		for ; i < len(v); i++ {
			switch v[i] {
			case '\\':
				i++
			case '(':
				depth++
			case ')':
				depth--
				if depth == 0 {
					break scan
				}
			}
		}
		if i >= len(v) {
			return ""
		}
		v = v[i+1:]
	}
}
