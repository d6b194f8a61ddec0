package address

import "testing"

func TestWithoutDetail(t *testing.T) {
	for in, want := range map[string]string{
		"bob+news@example.net":    "bob@example.net",
		"bob+a+b@example.net":     "bob@example.net",
		"bob@example.net":         "",
		"+news@example.net":       "",
		"bob+@example.net":        "bob@example.net",
		"\"b+c\"@example.net":     "",
		"no-at-sign+x":            "",
		"bob+x@sub+d.example.net": "bob@sub+d.example.net",
	} {
		got, ok := WithoutDetail(in)
		if want == "" {
			if ok || got != in {
				t.Errorf("WithoutDetail(%q) = %q, %v; want it unchanged", in, got, ok)
			}
			continue
		}
		if !ok || got != want {
			t.Errorf("WithoutDetail(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
