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

// Messages delivered in one second at .098 s and .275 s: a string sort
// gave the later one the lower UID (seen as a flaky e2e test on CI, where
// the two deliveries fell on either side of a digit-count change).
func TestSortDeliveredComparesMicrosecondsAsNumbers(t *testing.T) {
	names := []string{
		"1764638771.M275000Kb.host,S=68423",
		"1764638771.M98000Ka.host,S=486",
		"1764638772.M5Kc.host,S=486:2,S",
		"1764638770.Kz.host",
		"junk",
		"1764638771.M275000Ka.host,S=1",
	}
	sortDelivered(names)
	want := []string{
		"1764638770.Kz.host",
		"1764638771.M98000Ka.host,S=486",
		"1764638771.M275000Ka.host,S=1",
		"1764638771.M275000Kb.host,S=68423",
		"1764638772.M5Kc.host,S=486:2,S",
		"junk",
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("order:\n%v\nwant:\n%v", names, want)
		}
	}
}
