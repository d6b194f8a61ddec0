package password

import (
	"runtime"
	"sync"
)

// Priority orders the argon2id computations waiting for a hashing slot.
type Priority int

const (
	// Normal is everything but a login from a source that failed lately:
	// such logins, account creation, password changes.
	Normal Priority = iota
	// Low is a login from a source with recent failures (package login
	// decides). Low hashes hold at most half the slots (one at least) and
	// wait behind every Normal one: two clients guessing passwords once
	// held both CPUs, and a legitimate login waited behind them.
	Low
)

// slots admits as many argon2id computations at a time as there are CPUs.
// Each one takes 19 MiB of fresh memory; twenty at once (a login storm
// after an outage, a client opening connections in parallel) measured 137 ms
// of CPU each against 27 ms alone, in page faults and garbage collection,
// and 380 MiB. In line, each runs at full speed on warm memory — Dovecot's
// auth workers are a bounded pool for the same reason.
type slots struct {
	size, lowMax int

	mu      sync.Mutex
	busy    int                // slots held, Low ones included
	low     int                // slots held by Low hashes
	waiting [2][]chan struct{} // FIFO per Priority
}

var hashing = newSlots(runtime.GOMAXPROCS(0))

func newSlots(n int) *slots {
	return &slots{size: n, lowMax: max(1, n/2)}
}

// acquire waits for a slot: at once if one is free for p and nobody of
// p's priority or higher is queued, else in p's queue.
func (s *slots) acquire(p Priority) {
	if s.tryAcquire(p) {
		return
	}
	s.mu.Lock()
	if s.admits(p) { // freed since tryAcquire
		s.take(p)
		s.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	s.waiting[p] = append(s.waiting[p], ch)
	s.mu.Unlock()
	<-ch // release took the slot for us
}

// tryAcquire takes a slot if acquire would get one without waiting.
func (s *slots) tryAcquire(p Priority) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.admits(p) {
		return false
	}
	s.take(p)
	return true
}

// admits reports whether a newcomer of priority p may take a slot now:
// one is free for p, and no one queued ahead of it (its own priority or a
// higher one) is waiting; s.mu is held.
func (s *slots) admits(p Priority) bool {
	for q := Normal; q <= p; q++ {
		if len(s.waiting[q]) > 0 {
			return false
		}
	}
	return s.free(p)
}

func (s *slots) free(p Priority) bool {
	return s.busy < s.size && (p == Normal || s.low < s.lowMax)
}

func (s *slots) take(p Priority) {
	s.busy++
	if p == Low {
		s.low++
	}
}

// release gives the slot back and hands free slots to the queued: Normal
// ones first, Low ones within their share.
func (s *slots) release(p Priority) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.busy--
	if p == Low {
		s.low--
	}
	for _, q := range []Priority{Normal, Low} {
		for len(s.waiting[q]) > 0 && s.free(q) {
			ch := s.waiting[q][0]
			s.waiting[q] = s.waiting[q][1:]
			s.take(q)
			close(ch)
		}
	}
}

// queued is how many hashes of priority p wait for a slot.
func (s *slots) queued(p Priority) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waiting[p])
}
