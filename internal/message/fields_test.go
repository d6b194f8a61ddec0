package message

import "testing"

func TestRemoveFields(t *testing.T) {
	msg := "A: 1\r\nX-Ours: forged\r\n\tfolded\r\nB: 2\r\nx-ours: again\r\n\r\nX-Ours: in the body\r\n"
	out, n := RemoveFields([]byte(msg), Named("X-Ours"))
	if want := "A: 1\r\nB: 2\r\n\r\nX-Ours: in the body\r\n"; string(out) != want || n != 2 {
		t.Fatalf("got %q, %d; want %q, 2", out, n, want)
	}
	same, n := RemoveFields(out, Named("X-Ours"))
	if &same[0] != &out[0] || n != 0 {
		t.Fatalf("nothing to remove must return the message itself: %q, %d", same, n)
	}
	if f := HeaderFields([]byte(msg))[1]; f.Value([]byte(msg)) != "forged\tfolded" {
		t.Fatalf("value = %q", f.Value([]byte(msg)))
	}
}
