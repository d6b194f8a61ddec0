// Package dirsync makes directory entries durable in groups. A writer
// renames or links its (already fsynced) file into a directory and calls
// Sync; one fsync of the directory then answers every caller waiting at
// that moment. Since each rename happened before its caller asked, that
// fsync covers it. Under load, N directory fsyncs become a few.
package dirsync

import (
	"os"
	"path/filepath"
	"sync"
)

// Syncer batches fsyncs of one directory.
type Syncer struct {
	dir  *os.File
	reqs chan chan error
	done chan struct{}
}

// New starts a Syncer for the directory at path. Close stops it.
func New(path string) (*Syncer, error) {
	d, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	s := &Syncer{dir: d, reqs: make(chan chan error, 1024), done: make(chan struct{})}
	go s.loop()
	return s, nil
}

func (s *Syncer) loop() {
	defer close(s.done)
	batch := make([]chan error, 0, 64)
	for first := range s.reqs {
		batch = append(batch[:0], first)
	drain:
		for {
			select {
			case r, ok := <-s.reqs:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		err := s.dir.Sync()
		for _, r := range batch {
			r <- err
		}
	}
}

// Sync returns once the directory, with every entry changed before the
// call, is on stable storage.
func (s *Syncer) Sync() error {
	r := make(chan error, 1)
	s.reqs <- r
	return <-r
}

// Close stops the Syncer after the requests already made.
func (s *Syncer) Close() {
	close(s.reqs)
	<-s.done
	s.dir.Close()
}

// shared holds one long-lived Syncer per directory for Dir.
var shared sync.Map // clean path -> *Syncer

// Dir syncs the directory at path through a Syncer shared by every caller
// in the process, so concurrent deliveries into one Maildir share fsyncs.
func Dir(path string) error {
	path = filepath.Clean(path)
	if s, ok := shared.Load(path); ok {
		return s.(*Syncer).Sync()
	}
	s, err := New(path)
	if err != nil {
		return err
	}
	if prev, loaded := shared.LoadOrStore(path, s); loaded {
		s.Close()
		return prev.(*Syncer).Sync()
	}
	return s.Sync()
}
