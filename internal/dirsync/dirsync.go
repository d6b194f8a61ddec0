// Package dirsync makes directory entries durable in groups. A writer
// renames or links its (already fsynced) file into a directory and calls
// Sync; one fsync of the directory then answers every caller waiting at
// that moment. Since each rename happened before its caller asked, that
// fsync covers it. Under load, N directory fsyncs become a few.
package dirsync

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Syncer batches fsyncs of one directory.
type Syncer struct {
	dir  *os.File
	reqs chan chan error
	done chan struct{}

	// mu makes Close wait for requests being handed over, and a request
	// after Close an error rather than a send on a closed channel.
	mu     sync.RWMutex
	closed bool
}

// ErrClosed is the answer to a Sync after Close: nothing was made durable.
var ErrClosed = errors.New("dirsync: syncer closed")

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
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	s.reqs <- r
	s.mu.RUnlock()
	return <-r
}

// Close stops the Syncer after the requests already made.
func (s *Syncer) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.reqs)
	s.mu.Unlock()
	<-s.done
	s.dir.Close()
}

// Shared syncers, one per directory, for Dir. A syncer idle for a minute
// is closed, so a node delivering to a million mailboxes holds open only
// the directories it is busy with.
var (
	mu       sync.Mutex
	shared   = map[string]*entry{}
	janitor  sync.Once
	idleTime = time.Minute
)

type entry struct {
	s        *Syncer
	users    int
	lastUsed time.Time
}

// Dir syncs the directory at path through a Syncer shared by every caller
// in the process, so concurrent deliveries into one Maildir share fsyncs.
func Dir(path string) error {
	path = filepath.Clean(path)
	janitor.Do(func() { go sweep() })
	mu.Lock()
	e := shared[path]
	if e == nil {
		s, err := New(path)
		if err != nil {
			mu.Unlock()
			return err
		}
		e = &entry{s: s}
		shared[path] = e
	}
	e.users++
	mu.Unlock()
	err := e.s.Sync()
	mu.Lock()
	e.users--
	e.lastUsed = time.Now()
	mu.Unlock()
	return err
}

func sweep() {
	for range time.Tick(idleTime / 2) {
		mu.Lock()
		for path, e := range shared {
			if e.users == 0 && time.Since(e.lastUsed) > idleTime {
				delete(shared, path)
				e.s.Close()
			}
		}
		mu.Unlock()
	}
}
