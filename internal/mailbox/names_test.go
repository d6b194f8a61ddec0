package mailbox

import "testing"

func TestEditFlags(t *testing.T) {
	for _, c := range []struct {
		flags  string
		op     byte
		change string
		want   string
	}{
		{"", '+', "S", "S"},
		{"FS", '+', "SD", "DFS"},
		{"DFS", '-', "FX", "DS"},
		{"PSab", '=', "F", "FPab"}, // P and keywords are not IMAP's to replace
		{"RS", '=', "", ""},
	} {
		if got := EditFlags(c.flags, c.op, c.change); got != c.want {
			t.Errorf("EditFlags(%q, %c, %q) = %q, want %q", c.flags, c.op, c.change, got, c.want)
		}
	}
	if b, f := splitName("1.M2.h,S=5:2,TSa"); b != "1.M2.h,S=5" || f != "STa" {
		t.Errorf("splitName: %q %q", b, f)
	}
	if n, ok := sizeFromName("1.M2.h,S=512,W=520"); !ok || n != 512 {
		t.Errorf("sizeFromName: %d %v", n, ok)
	}
}

func TestFlagLetters(t *testing.T) {
	letters, dropped := FlagLetters([]string{`\Seen`, `\flagged`, "$Label1", `\ANSWERED`, `\Seen`})
	if letters != "FRS" || len(dropped) != 1 || dropped[0] != "$Label1" {
		t.Errorf("FlagLetters = %q, %q", letters, dropped)
	}
}
