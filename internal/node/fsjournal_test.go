package node

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// The journal check against made-up sysfs and jbd2 directories for the
// device of a real temporary directory: only an ext4 one can be judged,
// so the test says what it could check on this machine.
func TestUnjournaledExt4(t *testing.T) {
	dir := t.TempDir()
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	sys, jbd2 := filepath.Join(root, "sys"), filepath.Join(root, "jbd2")
	devDir := filepath.Join(sys, fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)))
	for _, d := range []string{devDir, jbd2} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(devDir, "uevent"), []byte("MAJOR=254\nMINOR=0\nDEVNAME=vdz\nDEVTYPE=disk\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dev, bad := unjournaledExt4(dir, sys, jbd2)
	if fs.Type != ext4Magic {
		if bad {
			t.Fatalf("a %#x file system judged as ext4 without a journal", fs.Type)
		}
		t.Skipf("the temporary directory is not on ext4 (f_type %#x): only the not-ext4 case was checked", fs.Type)
	}
	if !bad || dev != "vdz" {
		t.Fatalf("no journal listed: got %q, %v; want vdz, true", dev, bad)
	}
	if err := os.Mkdir(filepath.Join(jbd2, "vdz-8"), 0o755); err != nil {
		t.Fatal(err)
	}
	if dev, bad := unjournaledExt4(dir, sys, jbd2); bad {
		t.Fatalf("journal vdz-8 listed, still judged without one (%q)", dev)
	}
	if _, bad := unjournaledExt4(dir, sys, filepath.Join(root, "absent")); bad {
		t.Fatal("no jbd2 directory at all: cannot tell, must not warn")
	}
}
