package keyed

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestMutexesLeaveNothingBehind: after 100,000 distinct accounts locked
// and unlocked, some of them by several goroutines at once, no entry is
// left.
func TestMutexesLeaveNothingBehind(t *testing.T) {
	var l Mutexes
	var rw RWMutexes
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100000; i++ {
				k := "acct" + strconv.Itoa(i)
				l.Lock(k)()
				if i%2 == 0 {
					rw.RLock(k)()
				} else {
					rw.Lock(k)()
				}
			}
		}()
	}
	wg.Wait()
	if n := l.Len(); n != 0 {
		t.Errorf("Mutexes: %d entries left, want 0", n)
	}
	if n := rw.Len(); n != 0 {
		t.Errorf("RWMutexes: %d entries left, want 0", n)
	}
}

// TestMutexesExcludeWhileWaited: a key's entry stays while a user waits
// on it, so the waiter and the holder share one mutex (an entry dropped
// and made again would let both in at once).
func TestMutexesExcludeWhileWaited(t *testing.T) {
	var l Mutexes
	unlock := l.Lock("a")
	got := make(chan struct{})
	go func() {
		l.Lock("a")()
		close(got)
	}()
	for l.m.refsOf("a") != 2 {
		time.Sleep(time.Millisecond)
	}
	select {
	case <-got:
		t.Fatal("a second holder while the first holds the lock")
	case <-time.After(20 * time.Millisecond):
	}
	unlock()
	<-got
	if n := l.Len(); n != 0 {
		t.Fatalf("%d entries left, want 0", n)
	}
}

// TestRWMutexesShareReaders: readers of one key hold it together; a writer
// waits for them.
func TestRWMutexesShareReaders(t *testing.T) {
	var l RWMutexes
	r1 := l.RLock("a")
	r2 := l.RLock("a") // would deadlock if not shared
	wrote := make(chan struct{})
	go func() {
		l.Lock("a")()
		close(wrote)
	}()
	select {
	case <-wrote:
		t.Fatal("a writer while readers hold the lock")
	case <-time.After(20 * time.Millisecond):
	}
	r1()
	r2()
	<-wrote
	if n := l.Len(); n != 0 {
		t.Fatalf("%d entries left, want 0", n)
	}
}

func (m *Map[V]) refsOf(key string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.m[key]; e != nil {
		return e.refs
	}
	return 0
}
