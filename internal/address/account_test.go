package address

import (
	"errors"
	"strings"
	"testing"
	"unicode"
)

// Issue 15 §2: a local part names a Maildir directory, so the names that
// are paths, Maildir's own directories or control characters are refused
// for new accounts and aliases, with the rule in the message.
func TestNormalizeNew(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"bob@example.test", "bob@example.test"},
		{"Bob.Smith+x@Example.TEST", "bob.smith+x@example.test"},
		{"curly@example.test", "curly@example.test"},
		{"new.user@example.test", "new.user@example.test"},
		{"ünïcode@bücher.example", "ünïcode@xn--bcher-kva.example"},
		{"bob/./@example.test", ""},
		{"/@example.test", ""},
		{"//@example.test", ""},
		{"a/b@example.test", ""},
		{"a\\b@example.test", ""},
		{"a\x00b@example.test", ""},
		{"a\x7fb@example.test", ""},
		{"a\u0085b@example.test", ""}, // C1 NEL
		{"cur@example.test", ""},
		{"NEW@example.test", ""},
		{"tmp@example.test", ""},
		{".hidden@example.test", ""},
		{"@example.test", ""},
	} {
		got, err := NormalizeNew(c.in)
		if c.want == "" {
			if err == nil || !errors.Is(err, ErrInvalid) {
				t.Errorf("NormalizeNew(%q) = %q, %v, want ErrInvalid", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("NormalizeNew(%q) = %q, %v, want %q", c.in, got, err, c.want)
		}
	}
	_, err := NormalizeNew("bob/./@example.test")
	if err == nil || !strings.Contains(err.Error(), "'/' is not allowed in an account name") || !strings.Contains(err.Error(), NameRule) {
		t.Fatalf("error %v does not say what is wrong and what is allowed", err)
	}
}

// FuzzNormalizeNew: what is accepted is a valid address whose local part
// is usable as one directory name, and which Normalize agrees with.
func FuzzNormalizeNew(f *testing.F) {
	for _, s := range []string{"bob@example.test", "bob/./@example.test", "/@example.test", "a/b@example.test", "cur@example.test",
		"a\x00@example.test", "a\u0085@example.test", "Tmp@example.test", "..@example.test", "ü@bücher.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		norm, err := NormalizeNew(addr)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		if n, err := Normalize(addr); err != nil || n != norm {
			t.Fatalf("NormalizeNew(%q) = %q, Normalize = %q, %v", addr, norm, n, err)
		}
		local := norm[:strings.LastIndexByte(norm, '@')]
		if local == "" || local[0] == '.' || local == "cur" || local == "new" || local == "tmp" || strings.ContainsAny(local, "/\\") {
			t.Fatalf("accepted %q with local part %q", addr, local)
		}
		if strings.IndexFunc(local, unicode.IsControl) >= 0 {
			t.Fatalf("accepted %q with a control character", addr)
		}
	})
}

// RFC 5890 §2.3.2.1: a U-label and its A-label are one domain.
func TestCanonicalDomain(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"Example.NET.", "example.net"},
		{"ab--cd.example", "ab--cd.example"}, // plain ASCII stays as it was
		{"ünïcödé.test", "xn--ncd-dma1a7bzb.test"},
		{"ÜNÏCÖDÉ.TEST", "xn--ncd-dma1a7bzb.test"},
		{"xn--ncd-dma1a7bzb.test", "xn--ncd-dma1a7bzb.test"},
		{"XN--NCD-DMA1A7BZB.test", "xn--ncd-dma1a7bzb.test"},
		{"ｅｘａｍｐｌｅ.test", "example.test"}, // UTS #46 width mapping
		{"faß.de", "xn--fa-hia.de"},      // IDNA2008: ß is not mapped to ss
		{"xn--garbage.example", ""},      // not a valid A-label
		{"xn--zz.example", ""},
		{"bü_cher.example", ""},
		{"localhost", ""},
		{"ünïcödé", ""},
		{"", ""},
	} {
		got, err := CanonicalDomain(c.in)
		if c.want == "" {
			if err == nil {
				t.Errorf("CanonicalDomain(%q) = %q, want an error", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("CanonicalDomain(%q) = %q, %v, want %q", c.in, got, err, c.want)
		}
	}
}

// FuzzCanonicalDomain: never panics; what comes out is ASCII, passes
// CheckDomain and is its own canonical form.
func FuzzCanonicalDomain(f *testing.F) {
	for _, s := range []string{"example.net", "ünïcödé.test", "xn--ncd-dma1a7bzb.test", "XN--garbage.example", "ｅｘａｍｐｌｅ.test", "a.b.", "é.例え.jp", "\u200d.example", "a\u0300.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, d string) {
		c, err := CanonicalDomain(d)
		if err != nil {
			return
		}
		if !isASCII(c) || c != strings.ToLower(c) || CheckDomain(c) != nil {
			t.Fatalf("CanonicalDomain(%q) = %q: not a lower-case LDH name", d, c)
		}
		if again, err := CanonicalDomain(c); err != nil || again != c {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", d, c, again, err)
		}
	})
}
