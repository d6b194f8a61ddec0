package dirsync

import (
	"errors"
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

// TestSyncAfterCloseIsAnError: a writer still running when its syncer is
// closed (a shutdown) gets ErrClosed, not a panic; Close twice is harmless.
func TestSyncAfterCloseIsAnError(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close()
	if err := s.Sync(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Sync after Close: %v, want ErrClosed", err)
	}
}
