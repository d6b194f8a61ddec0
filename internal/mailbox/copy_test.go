package mailbox

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCopyLinksOneFileAndSurvivesAnExpunge: a Copy's deliveries are one
// inode (new/ without flags, cur/ with them, Maildirs made on first use);
// once the only name is gone (expunged between two recipients) the next
// Maildir gets a whole copy of its own rather than an error.
func TestCopyLinksOneFileAndSurvivesAnExpunge(t *testing.T) {
	root := t.TempDir()
	body := []byte("Subject: s\r\n\r\nbody\r\n")
	c := NewCopy(body)
	defer c.Close()
	a, b, d := filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(root, "d")
	if err := c.Deliver(a, "m1", ""); err != nil {
		t.Fatal(err)
	}
	if err := c.Deliver(b, "m1", "S"); err != nil {
		t.Fatal(err)
	}
	fa, err := os.Stat(filepath.Join(a, "new", "m1"))
	if err != nil {
		t.Fatal(err)
	}
	fb, err := os.Stat(filepath.Join(b, "cur", "m1:2,S"))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(fa, fb) {
		t.Fatal("two files, want one linked twice")
	}
	os.Remove(filepath.Join(a, "new", "m1"))
	os.Remove(filepath.Join(b, "cur", "m1:2,S"))
	if err := c.Deliver(d, "m1", ""); err != nil {
		t.Fatalf("after the names were removed: %v", err)
	}
	if got, err := os.ReadFile(filepath.Join(d, "new", "m1")); err != nil || string(got) != string(body) {
		t.Fatalf("third Maildir holds %q, %v", got, err)
	}
	for _, dir := range []string{a, b, d} {
		if left, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(left) != 0 {
			t.Fatalf("%s/tmp holds %v", dir, left)
		}
	}
}
