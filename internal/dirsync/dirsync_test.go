package dirsync

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestConcurrentSyncs(t *testing.T) {
	dir := t.TempDir()
	s, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Sync(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

func TestDirSharesOneSyncerPerPath(t *testing.T) {
	dir := t.TempDir()
	if err := Dir(dir); err != nil {
		t.Fatal(err)
	}
	if err := Dir(dir + "/"); err != nil {
		t.Fatal(err)
	}
	n := 0
	shared.Range(func(k, _ any) bool {
		if k == filepath.Clean(dir) {
			n++
		}
		return true
	})
	if n != 1 {
		t.Fatalf("%d syncers for one directory", n)
	}
	if err := Dir(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Fatalf("missing directory: %v", err)
	}
}
