package managesieve

import (
	"bufio"
	"strconv"
	"strings"
	"testing"

	"mailgate/internal/store"
)

func TestReadCommand(t *testing.T) {
	for _, tc := range []struct {
		in, name string
		args     []string
	}{
		{"noop\r\n", "NOOP", nil},
		{"PUTSCRIPT \"a \\\"b\\\\\" {5+}\r\nkeep;\r\n", "PUTSCRIPT", []string{`a "b\`, "keep;"}},
		{"CHECKSCRIPT {6}\r\nkeep;\n\r\n", "CHECKSCRIPT", []string{"keep;\n"}},
		{"HAVESPACE \"x\" 100\r\n", "HAVESPACE", []string{"x", "100"}},
	} {
		name, args, err := readCommand(bufio.NewReader(strings.NewReader(tc.in)), testMaxLiteral)
		var got []string
		for _, a := range args {
			got = append(got, a.text)
		}
		if err != nil || name != tc.name || strings.Join(got, "|") != strings.Join(tc.args, "|") {
			t.Errorf("%q: %q %q %v; want %q %q", tc.in, name, got, err, tc.name, tc.args)
		}
	}
	for _, bad := range []string{"\"x\"\r\n", "PUTSCRIPT \"open\r\n", "PUTSCRIPT {x}\r\n", "PUTSCRIPT {3} x\r\n"} {
		if _, _, err := readCommand(bufio.NewReader(strings.NewReader(bad)), testMaxLiteral); err != errSyntax {
			t.Errorf("%q: err %v, want errSyntax", bad, err)
		}
	}
	if _, _, err := readCommand(bufio.NewReader(strings.NewReader("PUTSCRIPT \"a\" {999999999+}\r\n")), testMaxLiteral); err != errTooLarge {
		t.Errorf("huge literal: %v, want errTooLarge", err)
	}
	// Literals each within the limit, endless together: one command may
	// not hold more than the limit in all (nor endless empty ones).
	lit := strings.Repeat("x", testMaxLiteral/2)
	many := "PUTSCRIPT {" + strconv.Itoa(len(lit)) + "+}\r\n" + strings.Repeat(lit+" {"+strconv.Itoa(len(lit))+"+}\r\n", 3) + lit + "\r\n"
	if _, _, err := readCommand(bufio.NewReader(strings.NewReader(many)), testMaxLiteral); err != errTooLarge {
		t.Errorf("four literals of half the limit: %v, want errTooLarge", err)
	}
	empty := "X {0+}\r\n" + strings.Repeat(strings.Repeat(" ", 8000)+"{0+}\r\n", testMaxLiteral/8000+3) + "\r\n"
	if _, _, err := readCommand(bufio.NewReader(strings.NewReader(empty)), testMaxLiteral); err != errTooLarge {
		t.Errorf("endless empty literals: %v, want errTooLarge", err)
	}
}

// FuzzReadCommand: any input gives a command or an error, never a panic,
// and never a literal read past maxLiteral.
func FuzzReadCommand(f *testing.F) {
	for _, s := range []string{"NOOP\r\n", "PUTSCRIPT \"a\" {5+}\r\nkeep;\r\n", "AUTHENTICATE \"PLAIN\" \"AGEAYg==\"\r\n", "X {2}\r\n\"\"\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r := bufio.NewReader(strings.NewReader(in))
		for i := 0; i < 10; i++ {
			if _, _, err := readCommand(r, testMaxLiteral); err != nil && err != errSyntax {
				return
			}
		}
	})
}

const testMaxLiteral = literalRoom * store.MaxSieveScriptSize
