package srs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// day0 is 2026-12-02 00:00 UTC; its stamp is day 20789 mod 1024 = 309,
// base32 "JV".
var day0 = time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)

func newAt(t *testing.T, domain string, now time.Time, secrets ...string) *Rewriter {
	t.Helper()
	if len(secrets) == 0 {
		secrets = []string{"tops3cret"}
	}
	var keys [][]byte
	for _, s := range secrets {
		keys = append(keys, []byte(s))
	}
	r, err := New(domain, keys, DefaultMaxAge)
	if err != nil {
		t.Fatal(err)
	}
	r.now = func() time.Time { return now }
	return r
}

func TestForwardFormat(t *testing.T) {
	r := newAt(t, "fwd.example", day0)
	got, err := r.Forward("Alice@Sender.example")
	if err != nil {
		t.Fatal(err)
	}
	// The case of the original is kept; the hash is of the lowercased
	// fields, so it matches the lowercase address's.
	want := "SRS0=" + r.hash(0, "JV", "sender.example", "alice") + "=JV=Sender.example=Alice@fwd.example"
	if got != want {
		t.Fatalf("Forward = %q, want %q", got, want)
	}
	if r.stamp(day0) != "JV" {
		t.Fatalf("stamp = %q", r.stamp(day0))
	}
}

func TestRoundTrip(t *testing.T) {
	r := newAt(t, "fwd.example", day0)
	for _, sender := range []string{"alice@sender.example", "a.b+tag@sub.sender.example", "x=y=z@sender.example", "\"odd\"@sender.example"} {
		a, err := r.Forward(sender)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(a, "@fwd.example") || !IsSRS(a[:strings.LastIndexByte(a, '@')]) {
			t.Fatalf("Forward(%q) = %q", sender, a)
		}
		back, err := r.Reverse(a)
		if err != nil || back != sender {
			t.Fatalf("Reverse(%q) = %q, %v; want %q", a, back, err, sender)
		}
	}
}

func TestHashCheckIgnoresCase(t *testing.T) {
	r := newAt(t, "fwd.example", day0)
	a, _ := r.Forward("alice@sender.example")
	for _, v := range []string{strings.ToLower(a), strings.ToUpper(a)} {
		back, err := r.Reverse(v)
		if err != nil || !strings.EqualFold(back, "alice@sender.example") {
			t.Fatalf("Reverse(%q) = %q, %v", v, back, err)
		}
	}
}

func TestExpiry(t *testing.T) {
	r := newAt(t, "fwd.example", day0)
	a, _ := r.Forward("alice@sender.example")
	for days, want := range map[int]error{0: nil, 1: nil, DefaultMaxAge: nil, DefaultMaxAge + 1: ErrExpired, 500: ErrExpired, 1023: ErrExpired} {
		r.now = func() time.Time { return day0.Add(time.Duration(days)*24*time.Hour + 23*time.Hour) }
		if _, err := r.Reverse(a); !errors.Is(err, want) {
			t.Errorf("%d days later: Reverse err = %v, want %v", days, err, want)
		}
	}
	// A stamp from "tomorrow" is one from 1023 days ago.
	r.now = func() time.Time { return day0.Add(-24 * time.Hour) }
	if _, err := r.Reverse(a); !errors.Is(err, ErrExpired) {
		t.Errorf("stamp from the future: err = %v, want ErrExpired", err)
	}
	// Across the 1024-day wrap of the stamp.
	wrap := time.Unix(1024*timePrecision*21-2*timePrecision, 0)
	r.now = func() time.Time { return wrap }
	a, _ = r.Forward("alice@sender.example")
	r.now = func() time.Time { return wrap.Add(5 * 24 * time.Hour) }
	if _, err := r.Reverse(a); err != nil {
		t.Errorf("across the wrap: %v", err)
	}
}

func TestTamperedRefused(t *testing.T) {
	r := newAt(t, "fwd.example", day0)
	a, _ := r.Forward("alice@sender.example")
	hash := a[5:9]
	other := "AAAA"
	if strings.EqualFold(hash, other) {
		other = "BBBB"
	}
	cases := map[string]error{
		strings.Replace(a, hash, other, 1):                                     ErrBadHash,
		strings.Replace(a, "=alice@", "=mallory@", 1):                          ErrBadHash,
		strings.Replace(a, "=sender.example=", "=victim.example=", 1):          ErrBadHash,
		strings.Replace(a, "="+hash+"=", "="+hash[:3]+"=", 1):                  ErrBadHash, // too short
		"SRS0=" + hash + "=JV=sender.example@fwd.example":                      ErrMalformed,
		"SRS0=" + hash + "=J=sender.example=alice@fwd.example":                 ErrMalformed,
		"SRS0=" + hash + "=J1=sender.example=alice@fwd.example":                ErrMalformed,
		"SRS1=" + hash + "=sender.example@fwd.example":                         ErrMalformed,
		"SRS1=" + hash + "=other.example==" + a[5:strings.IndexByte(a, '@')+1]: ErrBadHash,
		"alice@fwd.example": ErrNotSRS,
		"SRS2=" + a[5:]:     ErrNotSRS,
	}
	for addr, want := range cases {
		if got, err := r.Reverse(addr); !errors.Is(err, want) {
			t.Errorf("Reverse(%q) = %q, %v; want %v", addr, got, err, want)
		}
	}
	// Another secret's address is refused; with both secrets (rotation)
	// it is accepted.
	r2 := newAt(t, "fwd.example", day0, "other secret")
	if _, err := r2.Reverse(a); !errors.Is(err, ErrBadHash) {
		t.Errorf("other secret: err = %v", err)
	}
	r3 := newAt(t, "fwd.example", day0, "other secret", "tops3cret")
	if got, err := r3.Reverse(a); err != nil || got != "alice@sender.example" {
		t.Errorf("rotated secrets: %q, %v", got, err)
	}
}

// TestSRS1Chaining forwards through three sites: the second and third
// make SRS1 addresses pointing at the first forwarder, whose SRS0 part
// they carry; a bounce goes back to the first, which alone can check it.
func TestSRS1Chaining(t *testing.T) {
	first := newAt(t, "first.example", day0, "first secret")
	second := newAt(t, "second.example", day0, "second secret")
	third := newAt(t, "third.example", day0, "third secret")

	a0, _ := first.Forward("alice@sender.example")
	a1, err := second.Forward(a0)
	if err != nil {
		t.Fatal(err)
	}
	opaque := strings.TrimPrefix(a0[:strings.IndexByte(a0, '@')], "SRS0")
	want1 := "SRS1=" + second.hash(0, "first.example", opaque) + "=first.example=" + opaque + "@second.example"
	if a1 != want1 || !strings.Contains(a1, "=first.example==") {
		t.Fatalf("second.Forward = %q, want %q", a1, want1)
	}
	a2, err := third.Forward(a1)
	if err != nil {
		t.Fatal(err)
	}
	if want2 := "SRS1=" + third.hash(0, "first.example", opaque) + "=first.example=" + opaque + "@third.example"; a2 != want2 {
		t.Fatalf("third.Forward = %q, want %q", a2, want2)
	}
	// The bounce: third → the first forwarder's SRS0 → alice.
	back, err := third.Reverse(a2)
	if err != nil || back != a0 {
		t.Fatalf("third.Reverse = %q, %v; want %q", back, err, a0)
	}
	if back, err = second.Reverse(a1); err != nil || back != a0 {
		t.Fatalf("second.Reverse = %q, %v; want %q", back, err, a0)
	}
	if back, err = first.Reverse(back); err != nil || back != "alice@sender.example" {
		t.Fatalf("first.Reverse = %q, %v", back, err)
	}
	// Only the first forwarder's secret checks the SRS0 part.
	if _, err := second.Reverse(a0); !errors.Is(err, ErrBadHash) {
		t.Fatalf("second checked first's SRS0: %v", err)
	}
}

func TestForwardKeepsOwnDomainAndRefusesNull(t *testing.T) {
	r := newAt(t, "fwd.example", day0)
	if got, _ := r.Forward("bob@FWD.example"); got != "bob@FWD.example" {
		t.Errorf("own domain rewritten: %q", got)
	}
	for _, bad := range []string{"", "nodomain", "@x.example", "bob@"} {
		if got, err := r.Forward(bad); err == nil {
			t.Errorf("Forward(%q) = %q, want an error", bad, got)
		}
	}
}

func TestLoadSecretsCreatesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "srs.secret")
	s1, err := LoadSecrets(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v; want 0600", fi.Mode(), err)
	}
	if len(s1) != 1 || len(s1[0]) != 44 {
		t.Fatalf("generated secrets %q", s1)
	}
	s2, err := LoadSecrets(path)
	if err != nil || string(s2[0]) != string(s1[0]) {
		t.Fatalf("second load %q, %v; want the same secret", s2, err)
	}
	os.WriteFile(path, []byte("new\n\nold\n"), 0o600)
	if s, err := LoadSecrets(path); err != nil || len(s) != 2 || string(s[0]) != "new" || string(s[1]) != "old" {
		t.Fatalf("two secrets: %q, %v", s, err)
	}
	os.Chmod(path, 0o644)
	if _, err := LoadSecrets(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable file: %v", err)
	}
	os.WriteFile(path, []byte("\n"), 0o600)
	os.Chmod(path, 0o600)
	if _, err := LoadSecrets(path); err == nil {
		t.Fatal("empty file accepted")
	}
}
