package scan

import (
	"bytes"
	"strings"
)

// fieldSpan is one header field in a raw message: name and the byte range
// of the whole field, continuation lines and final CRLF included.
type fieldSpan struct {
	name       string
	start, end int
}

// headerFields splits the header block of a CRLF message (RFC 5322 §2.2:
// a field is a line starting with its name, continued by lines starting
// with whitespace; the block ends at the first empty line).
func headerFields(msg []byte) []fieldSpan {
	var out []fieldSpan
	i := 0
	for i < len(msg) {
		if bytes.HasPrefix(msg[i:], []byte("\r\n")) {
			break // end of the header block
		}
		end := lineEnd(msg, i)
		if msg[i] == ' ' || msg[i] == '\t' {
			if len(out) > 0 {
				out[len(out)-1].end = end
			}
			i = end
			continue
		}
		colon := bytes.IndexByte(msg[i:end], ':')
		if colon < 0 {
			break // not a header field: the rest is body
		}
		out = append(out, fieldSpan{name: strings.TrimRight(string(msg[i:i+colon]), " \t"), start: i, end: end})
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

// removeFields returns msg without the header fields whose name drop
// reports, and whether anything was removed. The other bytes are kept as
// they are, so DKIM signatures over them still verify.
func removeFields(msg []byte, drop func(name string) bool) ([]byte, bool) {
	var out []byte
	last := 0
	for _, f := range headerFields(msg) {
		if !drop(f.name) {
			continue
		}
		if out == nil {
			out = make([]byte, 0, len(msg))
		}
		out = append(out, msg[last:f.start]...)
		last = f.end
	}
	if out == nil {
		return msg, false
	}
	return append(out, msg[last:]...), true
}

// ourField reports the fields carrying a scan verdict: whatever a message
// arrives with under these names is a forgery of ours.
func ourField(name string) bool {
	n := strings.ToLower(name)
	return strings.HasPrefix(n, "x-spam-") || n == "x-spam" || n == virusField
}

// virusField says what the virus scan found or why there was none.
const virusField = "x-virus-scan"

// tagSubject puts tag before the first Subject field's value (adding a
// Subject when there is none), unless the subject already starts with it.
func tagSubject(msg []byte, tag string) []byte {
	for _, f := range headerFields(msg) {
		if !strings.EqualFold(f.name, "Subject") {
			continue
		}
		v := f.start + len(f.name)
		v += bytes.IndexByte(msg[v:f.end], ':') + 1
		for v < f.end && (msg[v] == ' ' || msg[v] == '\t') {
			v++
		}
		if bytes.HasPrefix(msg[v:f.end], []byte(tag)) {
			return msg
		}
		out := make([]byte, 0, len(msg)+len(tag)+1)
		out = append(out, msg[:v]...)
		out = append(out, tag...)
		out = append(out, ' ')
		return append(out, msg[v:]...)
	}
	return append([]byte("Subject: "+tag+"\r\n"), msg...)
}
