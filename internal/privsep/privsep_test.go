package privsep

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDirOwner: a missing directory is no owner; a uid without a passwd
// entry runs with the directory's group and no supplementary groups;
// root's entry names root.
func TestDirOwner(t *testing.T) {
	dir := t.TempDir()
	if _, ok, err := DirOwner(filepath.Join(dir, "missing")); ok || err != nil {
		t.Errorf("missing dir: ok %v, err %v", ok, err)
	}
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	bare := filepath.Join(dir, "bare")
	if err := os.Mkdir(bare, 0o700); err != nil {
		t.Fatal(err)
	}
	// Far above any system or login account's uid.
	if err := os.Chown(bare, 3999999, 3999998); err != nil {
		t.Fatal(err)
	}
	o, ok, err := DirOwner(bare)
	if !ok || err != nil || o.UID != 3999999 || o.GID != 3999998 || o.Groups != nil || o.Name != "3999999" {
		t.Errorf("bare uid: %+v, %v, %v", o, ok, err)
	}
	if err := os.Chown(bare, 0, 0); err != nil {
		t.Fatal(err)
	}
	if o, ok, err := DirOwner(bare); !ok || err != nil || o.UID != 0 || o.GID != 0 || o.Name != "root" {
		t.Errorf("root: %+v, %v, %v", o, ok, err)
	}
}
