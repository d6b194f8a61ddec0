package fleet

import (
	"strings"
	"testing"
	"time"

	"mailgate/internal/spool"
)

func TestHandoffIDRoundTrip(t *testing.T) {
	env := &spool.Envelope{ID: "6619ae12c0468a96304d4", Received: time.Unix(1_800_000_000, 123456789), Junk: true}
	id, received, junk, err := ParseHandoffID(HandoffID(env))
	if err != nil || id != env.ID || !received.Equal(env.Received) || !junk {
		t.Fatalf("round trip of %q: %q %v %v %v", HandoffID(env), id, received, junk, err)
	}
	for _, bad := range []string{"", "x", "abc.1.j.k", "ABC.1.n", "abc.zz.n", "abc.0.n", "abc.1.x", ".1.n", "../x.1.n", strings.Repeat("a", 65) + ".1.n"} {
		if _, _, _, err := ParseHandoffID(bad); err == nil {
			t.Errorf("ParseHandoffID(%q) accepted", bad)
		}
	}
}

func TestParsePreface(t *testing.T) {
	for line, want := range map[string]string{"CLIENT 192.0.2.1:993\r": "192.0.2.1:993", "CLIENT [2001:db8::1]:110": "[2001:db8::1]:110"} {
		ap, err := ParsePreface(line)
		if err != nil || ap.String() != want {
			t.Errorf("ParsePreface(%q) = %v, %v; want %s", line, ap, err, want)
		}
	}
	for _, bad := range []string{"", "CLIENT", "CLIENT 192.0.2.1", "client 192.0.2.1:1", "CLIENT host:1", "XCLIENT ADDR=1.2.3.4"} {
		if _, err := ParsePreface(bad); err == nil {
			t.Errorf("ParsePreface(%q) accepted", bad)
		}
	}
}

// FuzzParseHandoffID: any ENVID a peer sends is parsed or refused, never
// a crash, and what parses is a valid spool ID.
func FuzzParseHandoffID(f *testing.F) {
	f.Add("6619ae12c0468a96304d4.18c3a2b1.n")
	f.Add("a.1.j")
	f.Add("..")
	f.Fuzz(func(t *testing.T, s string) {
		id, _, _, err := ParseHandoffID(s)
		if err != nil {
			return
		}
		if id == "" || len(id) > 64 || strings.Trim(id, "0123456789abcdef") != "" {
			t.Fatalf("ParseHandoffID(%q) gave spool ID %q", s, id)
		}
	})
}

func FuzzParsePreface(f *testing.F) {
	f.Add("CLIENT 192.0.2.1:993\r")
	f.Add("CLIENT [::1]:1")
	f.Fuzz(func(t *testing.T, s string) {
		if ap, err := ParsePreface(s); err == nil && !ap.IsValid() {
			t.Fatalf("ParsePreface(%q) accepted an invalid address", s)
		}
	})
}
