package mailbox

import (
	"path/filepath"
	"strings"
	"testing"
)

// Names the store has always accepted keep the Maildir they have today,
// <root>/<domain>/<local>.
func TestDirKeepsSafeNamesWhereTheyAre(t *testing.T) {
	root := "/var/mail/root"
	for _, acct := range []string{"bob@example.test", "alice.smith+tag@mail.example.net", "o'brien@example.net",
		"ünïcode@xn--bcher-kva.example", "a=b#c$d&e*f^g_h`i{j|k}l~m-n?o@example.test", "cur@example.test"} {
		at := strings.LastIndexByte(acct, '@')
		want := filepath.Join(root, acct[at+1:], acct[:at])
		if got, err := Dir(root, acct); err != nil || got != want {
			t.Errorf("Dir(%q) = %q, %v, want %q", acct, got, err, want)
		}
	}
}

// Issue 15 §2: whatever the store holds, two accounts never share a
// Maildir and a Maildir is a direct child of its domain's directory:
// "bob/./" is not bob, "/" is not the domain directory, "a/b" is not
// inside a's Maildir.
func TestDirHostileNamesNeverCollide(t *testing.T) {
	root := t.TempDir()
	accts := []string{"bob@example.test", "bob/./@example.test", "bob/.@example.test", "/@example.test", "//@example.test",
		"a@example.test", "a/b@example.test", "a%2Fb@example.test", "a%b@example.test", ".@example.test", "..@example.test",
		"../x@example.test", "%2E@example.test", "%2E.@example.test", ".hidden@example.test", "cur@example.test", "new@example.test",
		"a\x00b@example.test", "a\nb@example.test", `a\b@example.test`, "x@..", "x@.", "x@../..", "x@example.test/..",
		"x@%2E%2E", "bob@example.test/bob", "bob@EXAMPLE.test"}
	seen := map[string]string{}
	for _, acct := range accts {
		dir, err := Dir(root, acct)
		if err != nil {
			t.Errorf("Dir(%q): %v", acct, err)
			continue
		}
		if other, ok := seen[dir]; ok {
			t.Errorf("Dir(%q) = Dir(%q) = %s", acct, other, dir)
		}
		seen[dir] = acct
		checkDirectChild(t, root, acct, dir)
	}
	for _, bad := range []string{"", "bob", "@example.test", "bob@"} {
		if dir, err := Dir(root, bad); err == nil {
			t.Errorf("Dir(%q) = %q, want an error", bad, dir)
		}
	}
	if dir, err := Dir(root, strings.Repeat("/", 100)+"@example.test"); err == nil {
		t.Errorf("Dir of a name 300 octets long once escaped = %q, want an error", dir)
	}
}

func checkDirectChild(t testing.TB, root, acct, dir string) {
	t.Helper()
	rel, err := filepath.Rel(root, dir)
	parts := strings.Split(rel, string(filepath.Separator))
	if err != nil || len(parts) != 2 || parts[0] == ".." || parts[1] == ".." || parts[0] == "." || parts[1] == "." ||
		filepath.Dir(filepath.Dir(dir)) != filepath.Clean(root) {
		t.Fatalf("Dir(%q) = %s: not <root>/<domain>/<local> (%q)", acct, dir, rel)
	}
}

// FuzzDir: two different accounts never map to one directory, and every
// directory is <root>/<domain>/<local>.
func FuzzDir(f *testing.F) {
	f.Add("bob@example.test", "bob/./@example.test")
	f.Add("/@example.test", "%2F@example.test")
	f.Add("..@x", ".@x")
	f.Add("a/b@example.test", "a@example.test")
	f.Add("x@..", "x@%2E.")
	f.Fuzz(func(t *testing.T, a, b string) {
		root := "/srv/mail"
		da, errA := Dir(root, a)
		db, errB := Dir(root, b)
		if errA == nil {
			checkDirectChild(t, root, a, da)
		}
		if errB == nil {
			checkDirectChild(t, root, b, db)
		}
		if errA == nil && errB == nil && a != b && da == db {
			t.Fatalf("Dir(%q) = Dir(%q) = %s", a, b, da)
		}
	})
}

// Mail of an internationalized domain went under its U-label directory
// before domains were kept as A-labels; it stays there until the operator
// moves it, and a new domain's mail goes under the A-label.
func TestDirKeepsLegacyULabelDirectory(t *testing.T) {
	root := t.TempDir()
	const acct = "leser@xn--bcher-kva.example"
	aDir, uDir := filepath.Join(root, "xn--bcher-kva.example", "leser"), filepath.Join(root, "bücher.example", "leser")
	if got, err := Dir(root, acct); err != nil || got != aDir {
		t.Fatalf("new domain: Dir = %q, %v, want %q", got, err, aDir)
	}
	if err := Ensure(uDir); err != nil {
		t.Fatal(err)
	}
	if got, err := Dir(root, acct); err != nil || got != uDir {
		t.Fatalf("existing U-label directory: Dir = %q, %v, want %q", got, err, uDir)
	}
	if err := Ensure(aDir); err != nil {
		t.Fatal(err)
	}
	if got, err := Dir(root, acct); err != nil || got != aDir {
		t.Fatalf("after the move: Dir = %q, %v, want %q", got, err, aDir)
	}
}
