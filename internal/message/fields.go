package message

import (
	"bytes"
	"strings"
)

// Field is one header field in a raw message: its name and the byte range
// of the whole field, continuation lines and final CRLF included.
type Field struct {
	Name       string
	Start, End int
}

// Value returns the field's body in msg: after the colon, unfolded
// (RFC 5322 §2.2.3: CRLF before WSP removed) and trimmed.
func (f Field) Value(msg []byte) string {
	_, v, _ := bytes.Cut(msg[f.Start:f.End], []byte(":"))
	return strings.TrimSpace(strings.ReplaceAll(string(v), "\r\n", ""))
}

// HeaderFields splits the header block of a CRLF message (RFC 5322 §2.2:
// a field is a line starting with its name, continued by lines starting
// with whitespace; the block ends at the first empty line, or at a line
// that is not a field, which starts the body).
func HeaderFields(msg []byte) []Field {
	var out []Field
	i := 0
	for i < len(msg) {
		if bytes.HasPrefix(msg[i:], []byte("\r\n")) {
			break // end of the header block
		}
		end := lineEnd(msg, i)
		if msg[i] == ' ' || msg[i] == '\t' {
			if len(out) > 0 {
				out[len(out)-1].End = end
			}
			i = end
			continue
		}
		colon := bytes.IndexByte(msg[i:end], ':')
		if colon < 0 {
			break // not a header field: the rest is body
		}
		out = append(out, Field{Name: strings.TrimRight(string(msg[i:i+colon]), " \t"), Start: i, End: end})
		i = end
	}
	return out
}

func lineEnd(msg []byte, i int) int {
	if j := bytes.Index(msg[i:], []byte("\r\n")); j >= 0 {
		return i + j + 2
	}
	return len(msg)
}

// RemoveFields returns msg without the header fields drop reports, and
// how many went. It is how a stage removes incoming fields that claim to
// be its verdict (forged Authentication-Results, RFC 8601 §5; X-Spam-*;
// X-Mailgate-Reputation) before adding its own. The other bytes are kept
// as they are, so DKIM signatures over them still verify; with nothing
// to remove msg itself is returned.
func RemoveFields(msg []byte, drop func(msg []byte, f Field) bool) ([]byte, int) {
	var out []byte
	last, removed := 0, 0
	for _, f := range HeaderFields(msg) {
		if !drop(msg, f) {
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(msg))
		}
		out = append(out, msg[last:f.Start]...)
		last = f.End
		removed++
	}
	if out == nil {
		return msg, 0
	}
	return append(out, msg[last:]...), removed
}

// Named reports fields by name, case-insensitively (RFC 5322 §1.2.2), for
// RemoveFields.
func Named(names ...string) func([]byte, Field) bool {
	return func(_ []byte, f Field) bool {
		for _, n := range names {
			if strings.EqualFold(f.Name, n) {
				return true
			}
		}
		return false
	}
}
