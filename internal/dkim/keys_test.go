package dkim

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
)

const msg = "From: Alice <alice@ours.example>\r\nTo: bob@far.example\r\nSubject: hi\r\nDate: Mon, 02 Jan 2026 03:04:05 +0000\r\nMessage-ID: <1@ours.example>\r\n\r\nHello\r\n.dot line\r\n"

// recordText joins the quoted strings of a printed TXT record.
func recordText(t *testing.T, rec string) string {
	var b strings.Builder
	for _, m := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(rec, -1) {
		b.WriteString(m[1])
	}
	return b.String()
}

func TestKeygenSignVerify(t *testing.T) {
	for _, algo := range []string{"rsa", "ed25519"} {
		t.Run(algo, func(t *testing.T) {
			k := Keys{Dir: t.TempDir()}
			rec, err := k.Generate("Ours.Example", "s1", algo, false)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(rec, "s1._domainkey.ours.example. IN TXT ") || !strings.Contains(rec, "k="+algo) {
				t.Fatalf("record %q", rec)
			}
			sel, key, err := k.Active("ours.example")
			if err != nil || sel != "s1" {
				t.Fatalf("active %q %v", sel, err)
			}
			sig, err := Sign(strings.NewReader(msg), "ours.example", sel, key)
			if err != nil {
				t.Fatal(err)
			}
			txt := recordText(t, rec)
			opts := &dkim.VerifyOptions{LookupTXT: func(name string) ([]string, error) {
				if name != "s1._domainkey.ours.example" {
					return nil, fmt.Errorf("unexpected lookup %s", name)
				}
				return []string{txt}, nil
			}}
			v, err := dkim.VerifyWithOptions(bytes.NewReader([]byte(sig+msg)), opts)
			if err != nil || len(v) != 1 || v[0].Err != nil || v[0].Domain != "ours.example" {
				t.Fatalf("verify: %v %+v", err, v)
			}
			tampered := strings.Replace(sig+msg, "Hello", "Hullo", 1)
			v, _ = dkim.VerifyWithOptions(strings.NewReader(tampered), opts)
			if len(v) != 1 || v[0].Err == nil {
				t.Fatal("tampered body verified")
			}
			if _, err := k.Generate("ours.example", "s1", algo, false); err == nil {
				t.Fatal("second key under the same selector accepted")
			}
			if _, err := k.Generate("ours.example", "s2", algo, false); err != nil {
				t.Fatal(err)
			}
			if sel, _, _ := k.Active("ours.example"); sel != "s1" {
				t.Fatalf("new key activated without asking: %s", sel)
			}
		})
	}
}

func TestRejectsBadNames(t *testing.T) {
	k := Keys{Dir: t.TempDir()}
	for _, bad := range [][2]string{{"../etc", "s"}, {"ours.example", "a/b"}, {"", "s"}, {"ours.example", ""}} {
		if _, err := k.Generate(bad[0], bad[1], "ed25519", false); err == nil {
			t.Errorf("accepted domain %q selector %q", bad[0], bad[1])
		}
	}
	if _, err := k.Generate("ours.example", "s", "dsa", false); err == nil {
		t.Error("accepted algo dsa")
	}
}

// TestCachedKeysFollowFileChanges: a cached Keys parses a key once, but
// still follows `dkim activate` at once and a key file that changed.
func TestCachedKeysFollowFileChanges(t *testing.T) {
	dir := t.TempDir()
	k := Keys{Dir: dir}.Cached()
	for _, sel := range []string{"s1", "s2"} {
		if _, err := k.Generate("ours.example", sel, "ed25519", false); err != nil {
			t.Fatal(err)
		}
	}
	// same: the very key parsed before (an ed25519 key is a slice).
	same := func(a, b crypto.Signer) bool { return &a.(ed25519.PrivateKey)[0] == &b.(ed25519.PrivateKey)[0] }
	_, key1, err := k.Active("ours.example")
	if err != nil {
		t.Fatal(err)
	}
	if _, again, _ := k.Active("ours.example"); !same(again, key1) {
		t.Fatal("key parsed again although its file did not change")
	}
	if err := (Keys{Dir: dir}).Activate("ours.example", "s2"); err != nil {
		t.Fatal(err)
	}
	sel, key2, err := k.Active("ours.example")
	if err != nil || sel != "s2" || same(key2, key1) {
		t.Fatalf("after activate: %q %v", sel, err)
	}
	// Replace s2's key file with s1's (another key, a later time).
	b, err := os.ReadFile(filepath.Join(dir, "ours.example", "s1.pem"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ours.example", "s2.pem")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	if _, key3, _ := k.Active("ours.example"); same(key3, key2) || !key3.Public().(ed25519.PublicKey).Equal(key1.Public()) {
		t.Fatal("changed key file not parsed again")
	}
}

// TestKeysTakeEitherFormOfAnIDN: a key made for "Bücher.example" is the
// key of xn--bcher-kva.example (RFC 5890 §2.3.2.1: one name), found and
// published under the A-label, which DNS and the d= tag carry.
func TestKeysTakeEitherFormOfAnIDN(t *testing.T) {
	k := Keys{Dir: t.TempDir()}
	rec, err := k.Generate("Bücher.example", "s1", "ed25519", true)
	if err != nil {
		t.Fatalf("Generate with a U-label: %v", err)
	}
	if !strings.HasPrefix(rec, "s1._domainkey.xn--bcher-kva.example.") {
		t.Fatalf("record %q, want it under the A-label", rec)
	}
	for _, d := range []string{"xn--bcher-kva.example", "bücher.example"} {
		if sel, _, err := k.Active(d); err != nil || sel != "s1" {
			t.Errorf("Active(%q) = %q, %v", d, sel, err)
		}
		// `dkim show bücher.example` prints the zone line DNS needs.
		if got, err := k.Record(d, "s1"); err != nil || got != rec {
			t.Errorf("Record(%q) = %q, %v; want %q", d, got, err, rec)
		}
	}
}
