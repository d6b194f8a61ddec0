package pop3d

import (
	"bufio"
	"fmt"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"USER alice@example.org\r\n", "USER [alice@example.org]"},
		{"stat\r\n", "STAT []"},
		{"top 1 10\r\n", "TOP [1 10]"},
		{"LIST \r\n", "LIST []"},
		{"AUTH PLAIN " + strings.Repeat("QUFB", 20) + "\r\n", "AUTH [PLAIN " + strings.Repeat("QUFB", 20) + "]"},
		{"PASS pass word with spaces\r\n", "PASS [pass word with spaces]"},
		{"\r\n", "error: empty command"},
		{"NO\r\n", "error: invalid command keyword"},
		{"RETRY 1\r\n", "error: invalid command keyword"},
		{"RE7R 1\r\n", "error: invalid command keyword"},
		{"LIST  1\r\n", "error: invalid argument"},
		{"USER " + strings.Repeat("a", 41) + "\r\n", "error: invalid argument"},
		{"USER a\x00b\r\n", "error: invalid character in command"},
		{"NOOP " + strings.Repeat("a", 300) + "\r\n", "error: command line too long"},
	} {
		c, err := parseCommand(tc.in)
		got := fmt.Sprintf("%s %v", c.Name, c.Args)
		if err != nil {
			got = "error: " + err.Error()
		}
		if got != tc.want {
			t.Errorf("parseCommand(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseMsgNum(t *testing.T) {
	for in, want := range map[string]int{"1": 1, "42": 42, "0": -1, "-1": -1, "+1": -1, "1x": -1, "": -1, "9999999999": -1} {
		n, ok := parseMsgNum(in)
		if !ok {
			n = -1
		}
		if n != want {
			t.Errorf("parseMsgNum(%q) = %d, want %d", in, n, want)
		}
	}
}

// FuzzParseCommand: the parser never panics, and what it accepts is a
// well-formed keyword with non-empty, space-free, printable arguments.
func FuzzParseCommand(f *testing.F) {
	for _, s := range []string{"USER a@b.c\r\n", "PASS x y\r\n", "TOP 1 0\r\n", "AUTH PLAIN =\r\n", "CAPA", "STLS\n", " \r\n", "UIDL 99999999999\r\n", "list \r\n", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, err := parseCommand(line)
		if err != nil {
			return
		}
		if len(c.Name) < 3 || len(c.Name) > 4 || strings.ToUpper(c.Name) != c.Name {
			t.Fatalf("bad keyword %q from %q", c.Name, line)
		}
		for _, a := range c.Args {
			if a == "" || strings.ContainsAny(a, " \r\n") {
				t.Fatalf("bad argument %q from %q", a, line)
			}
		}
		for _, a := range c.Args {
			if n, ok := parseMsgNum(a); ok && n <= 0 {
				t.Fatalf("message number %d accepted", n)
			}
		}
	})
}

func TestWriteDotStuffed(t *testing.T) {
	msg := "Subject: x\r\n.hidden: h\r\n\r\n.line1\r\nline2\n..line3\r\nlast-no-eol"
	for _, tc := range []struct {
		lines int
		want  string
	}{
		{-1, "Subject: x\r\n..hidden: h\r\n\r\n..line1\r\nline2\r\n...line3\r\nlast-no-eol\r\n"},
		{0, "Subject: x\r\n..hidden: h\r\n\r\n"},
		{2, "Subject: x\r\n..hidden: h\r\n\r\n..line1\r\nline2\r\n"},
	} {
		var b strings.Builder
		w := bufio.NewWriter(&b)
		if err := writeDotStuffed(w, bufio.NewReaderSize(strings.NewReader(msg), 16), tc.lines); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		if b.String() != tc.want {
			t.Errorf("lines=%d: got %q want %q", tc.lines, b.String(), tc.want)
		}
	}
}
