package scan

import (
	"bytes"
	"strings"

	"mailgate/internal/message"
)

// headerFields and removeFields are internal/message's, the one field
// splitter and remover the verdict stages share.
func headerFields(msg []byte) []message.Field { return message.HeaderFields(msg) }

func removeFields(msg []byte, drop func(name string) bool) ([]byte, bool) {
	out, n := message.RemoveFields(msg, func(_ []byte, f message.Field) bool { return drop(f.Name) })
	return out, n > 0
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
		if !strings.EqualFold(f.Name, "Subject") {
			continue
		}
		v := f.Start + len(f.Name)
		v += bytes.IndexByte(msg[v:f.End], ':') + 1
		for v < f.End && (msg[v] == ' ' || msg[v] == '\t') {
			v++
		}
		if bytes.HasPrefix(msg[v:f.End], []byte(tag)) {
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
