package message

import (
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-message/mail"
)

// RFC 5322 §3.6.4: the field is "<" id-left "@" id-right ">", as a strict
// msg-id parser reads it, and two are never the same.
func TestMessageIDField(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	seen := map[string]bool{}
	for range 3 {
		f := MessageIDField("mx.example", now)
		name, value, ok := strings.Cut(f, ": ")
		var h mail.Header
		h.Set(name, value)
		id, err := h.MessageID()
		if !ok || name != "Message-ID" || err != nil || !strings.HasSuffix(id, "@mx.example") || seen[id] {
			t.Fatalf("MessageIDField = %q: id %q, %v (seen %v)", f, id, err, seen)
		}
		seen[id] = true
	}
}
