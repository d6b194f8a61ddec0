package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCommitAppearsWholeAndNeverReplaces(t *testing.T) {
	testCommitAppearsWholeAndNeverReplaces(t)
}

// Where the file system has no O_TMPFILE the file is written under a
// temporary name: the same guarantees, and nothing left behind in tmp/.
func TestCommitWithoutTmpfile(t *testing.T) {
	openTmpfile = func(string) (int, error) { return -1, unix.EOPNOTSUPP }
	defer func() { openTmpfile = openTmpfileOS }()
	testCommitAppearsWholeAndNeverReplaces(t)
}

var openTmpfileOS = openTmpfile

func testCommitAppearsWholeAndNeverReplaces(t *testing.T) {
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
