package srs

import (
	"strings"
	"testing"
	"time"
)

// FuzzReverse feeds the parsers any address: neither Reverse nor Forward
// panics, and an SRS0 address of today that Reverse accepts is, but for
// case, what Forward makes of the result (the hash binds every field).
func FuzzReverse(f *testing.F) {
	r, err := New("fwd.example", [][]byte{[]byte("tops3cret")}, DefaultMaxAge)
	if err != nil {
		f.Fatal(err)
	}
	r.now = func() time.Time { return day0 }
	a0, _ := r.Forward("alice@sender.example")
	a1, _ := r.Forward("SRS0=abcd=JV=sender.example=alice@first.example")
	for _, s := range []string{a0, a1, strings.ToLower(a0), "SRS0=", "SRS1==", "SRS0+x=JV==@", "srs0-AAAA=zz=a=b@c", "SRS1=AAAA=h==@x", "alice@fwd.example", "SRS0=====", "SRS1=@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		r.Forward(addr) // parses SRS0/SRS1 senders too: must not panic
		back, err := r.Reverse(addr)
		if err != nil {
			return
		}
		local := addr
		if at := strings.LastIndexByte(addr, '@'); at >= 0 {
			local = addr[:at]
		}
		if !IsSRS(local) || !strings.Contains(back, "@") {
			t.Fatalf("Reverse(%q) = %q", addr, back)
		}
		// Accepted today's SRS0 address: forwarding its sender again
		// gives the same address but for case (the hash is of the
		// lowercased fields, compared without regard to case).
		if strings.EqualFold(local[:4], "SRS0") && len(local) > 12 && local[4] == '=' && local[9] == '=' && strings.EqualFold(local[10:12], r.stamp(day0)) {
			again, err := r.Forward(back)
			if err != nil || !strings.EqualFold(again, local+"@fwd.example") {
				t.Fatalf("Forward(Reverse(%q)) = %q, %v", addr, again, err)
			}
		}
	})
}
