package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCommitAppearsWholeAndNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	os.Mkdir(tmp, 0o700)
	dest := filepath.Join(dir, "msg")

	f, err := Create(tmp)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("first")
	if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the file is visible before Commit")
	}
	if err := f.Commit(dest); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dest); string(b) != "first" {
		t.Fatalf("dest holds %q", b)
	}

	g, _ := Create(tmp)
	g.WriteString("second")
	if err := g.Commit(dest); !errors.Is(err, ErrExist) {
		t.Fatalf("second Commit to one name: %v, want ErrExist", err)
	}
	if b, _ := os.ReadFile(dest); string(b) != "first" {
		t.Fatalf("dest replaced: %q", b)
	}

	h, _ := Create(tmp)
	h.WriteString("aborted")
	h.Abort()
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Fatalf("tmp/ keeps %d entries", len(left))
	}
	if _, err := Create(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("Create in a missing directory succeeded")
	}
}
