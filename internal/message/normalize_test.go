package message

import "testing"

func TestNormalizeDATAUnstuffsBareLines(t *testing.T) {
	cases := map[string]string{
		"a\r\nb\r\n":            "a\r\nb\r\n",
		"a\n..dot\n":            "a\r\n.dot\r\n",
		"a\r\n..kept\r\n":       "a\r\n..kept\r\n", // CRLF lines were unstuffed by go-smtp already
		"a\n.\r\nMAIL FROM:<x>": "a\r\n\r\nMAIL FROM:<x>",
		"a\r.b\r\n":             "a\r\nb\r\n",
		"a\n":                   "a\r\n",
		"\n.":                   "\r\n",
	}
	for in, want := range cases {
		if got := string(NormalizeDATA([]byte(in))); got != want {
			t.Errorf("NormalizeDATA(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzNormalizeDATA(f *testing.F) {
	for _, s := range []string{"a\n.\n", "a\r\n.\r\n", "\r.\r", "x\n..y\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out := NormalizeDATA(b)
		if !clean(out) {
			t.Fatalf("NormalizeDATA(%q) = %q has a bare CR or LF", b, out)
		}
		if len(out) > 2*len(b)+2 {
			t.Fatalf("output grew from %d to %d bytes", len(b), len(out))
		}
	})
}
