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
	mu.Lock()
	e, n := shared[filepath.Clean(dir)], len(shared)
	mu.Unlock()
	if e == nil || e.users != 0 || n != 1 {
		t.Fatalf("shared syncers: %d, entry %+v", n, e)
	}
	if err := Dir(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Fatalf("missing directory: %v", err)
	}
}
