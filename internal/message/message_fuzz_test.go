package message

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func dropLineEnds(b []byte) []byte {
	return bytes.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, b)
}

// FuzzNormalizeCRLF: the output has only CRLF line ends (so no bare-LF
// "." line can end anyone's DATA early), normalizing twice changes
// nothing, every other byte is kept in order, and a clean input is
// returned as is.
func FuzzNormalizeCRLF(f *testing.F) {
	for _, s := range []string{"", "a\r\nb\r\n", "a\nb", "a\rb", "\n.\r\n", "\r\n.\n", "\n.\n", "\r.\r", "\r\r\n\n", "\r", "\n", "x\r\n\r", "\xff\r\x00\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := slices.Clone(in)
		out := NormalizeCRLF(in)
		if !bytes.Equal(in, orig) {
			t.Fatal("NormalizeCRLF modified its input")
		}
		if !clean(out) {
			t.Fatalf("NormalizeCRLF(%q) = %q has a bare CR or LF", in, out)
		}
		if again := NormalizeCRLF(out); !bytes.Equal(again, out) {
			t.Fatalf("not idempotent: %q -> %q -> %q", in, out, again)
		}
		if !bytes.Equal(dropLineEnds(in), dropLineEnds(out)) {
			t.Fatalf("content changed: %q -> %q", in, out)
		}
		if clean(in) && !bytes.Equal(in, out) {
			t.Fatalf("clean input changed: %q -> %q", in, out)
		}
		// Line count: each CRLF, lone CR or lone LF is one line end.
		ends := bytes.Count(in, []byte("\r\n"))
		ends += bytes.Count(in, []byte("\r")) - ends + bytes.Count(in, []byte("\n")) - ends
		if got := bytes.Count(out, []byte("\r\n")); got != ends {
			t.Fatalf("%q has %d line ends, output %q has %d", in, ends, out, got)
		}
	})
}

// FuzzHeader: parsing any client's header block and its From field never
// panics; what FromAddresses returns is lower-case and non-empty.
func FuzzHeader(f *testing.F) {
	for _, s := range []string{
		"From: a@b.example\r\n\r\nbody",
		"From: \"x\" <A@B.example>, c@d.example\r\nSubject: s\r\n\r\n",
		"From: grp: a@b.example;\r\n\r\n",
		"From: undisclosed:;\r\n\r\n",
		"From: a@b.example\r\nFrom: c@d.example\r\n\r\n",
		"From: =?utf-8?q?x?= <a@b.example>\r\n\r\n",
		"Subject: no from\r\n\r\n",
		"From:\r\n\r\n",
		"From: <>\r\n\r\n",
		"From: a@b.example\r\n folded\r\n\r\n",
		"\r\n\r\n",
		"no colon\r\n\r\n",
		" leading space: x\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Header(b)
		if err != nil {
			if !errors.Is(err, ErrBadHeader) {
				t.Fatalf("error %v does not wrap ErrBadHeader", err)
			}
			return
		}
		froms, err := FromAddresses(h)
		if err != nil {
			if !errors.Is(err, ErrBadHeader) {
				t.Fatalf("error %v does not wrap ErrBadHeader", err)
			}
			return
		}
		if len(froms) == 0 {
			t.Fatal("FromAddresses returned no address and no error")
		}
		for _, a := range froms {
			if a != strings.ToLower(a) {
				t.Fatalf("address %q not lower-cased", a)
			}
		}
		if len(h.Values("From")) != 1 {
			t.Fatalf("accepted %d From fields", len(h.Values("From")))
		}
		FixUps(h, "mx.example", time.Unix(0, 0))
	})
}

// The From field the MSA checks (RFC 6409 §6.1) is the one readers see.
func TestFromAddresses(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string // comma-joined, or "ERR"
	}{
		{"From: Alice@Example.NET\r\n\r\n", "alice@example.net"},
		{"From: \"bob@evil.example\" <alice@example.net>\r\n\r\n", "alice@example.net"},
		{"From: alice@example.net (bob@evil.example)\r\n\r\n", "alice@example.net"},
		{"From: a@example.net, b@example.net\r\n\r\n", "a@example.net,b@example.net"},
		{"From: grp: a@example.net, bob@evil.example;\r\n\r\n", "a@example.net,bob@evil.example"},
		// RFC 5322 §3.6: exactly one From field; a second one could be
		// the one a reader's program displays.
		{"From: alice@example.net\r\nFrom: bob@evil.example\r\n\r\n", "ERR"},
		{"From: alice@example.net\r\nfrom: bob@evil.example\r\n\r\n", "ERR"},
		{"Subject: none\r\n\r\n", "ERR"},
		{"From: undisclosed:;\r\n\r\n", "ERR"},
		{"From: <alice@example.net>\r\n bob@evil.example\r\n\r\n", "ERR"},
	} {
		h, err := Header([]byte(c.in))
		if err != nil {
			t.Fatalf("%q: %v", c.in, err)
		}
		got, err := FromAddresses(h)
		s := strings.Join(got, ",")
		if err != nil {
			s = "ERR"
		}
		if s != c.want {
			t.Errorf("FromAddresses(%q) = %q (%v), want %q", c.in, s, err, c.want)
		}
	}
}

// RFC 6409 §8: Date and Message-ID are added only when missing.
func TestFixUps(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h, _ := Header([]byte("From: a@b.example\r\n\r\n"))
	got := FixUps(h, "mx.example", now)
	if len(got) != 2 || got[0] != "Date: Fri, 02 Jan 2026 03:04:05 +0000" || !strings.HasPrefix(got[1], "Message-ID: <") || !strings.HasSuffix(got[1], "@mx.example>") {
		t.Fatalf("FixUps = %q", got)
	}
	h, _ = Header([]byte("date: x\r\nMESSAGE-ID: <y@z>\r\n\r\n"))
	if got := FixUps(h, "mx.example", now); len(got) != 0 {
		t.Fatalf("FixUps added %q to a complete header", got)
	}
}

// Client-supplied text cannot break out of the Received field.
func TestReceivedSanitized(t *testing.T) {
	r := Received(Trace{Helo: "evil\r\nX-Injected: 1 (x) [y];", IP: "192.0.2.1", By: "mx.example", With: "ESMTPSA",
		ID: "abc", Auth: "a@b.example\r\nX: y", At: time.Unix(0, 0).UTC()})
	if strings.Contains(r, "X-Injected") && strings.Contains(r, "\r\nX-Injected") || strings.Contains(r, "\r\nX:") {
		t.Fatalf("injection: %q", r)
	}
	for _, line := range strings.Split(r, "\r\n")[1:] {
		if !strings.HasPrefix(line, "\t") {
			t.Fatalf("continuation line %q not folded", line)
		}
	}
}
