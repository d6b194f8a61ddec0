package password

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestHashVerify(t *testing.T) {
	h, err := Hash("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not an argon2id PHC string with our parameters", h)
	}
	if ok, err := Verify(h, "correct horse battery"); !ok || err != nil {
		t.Fatalf("right password: %v, %v", ok, err)
	}
	if ok, err := Verify(h, "correct horse batterY"); ok || err != nil {
		t.Fatalf("wrong password: %v, %v", ok, err)
	}
	h2, _ := Hash("correct horse battery")
	if h2 == h {
		t.Fatal("two hashes of one password share a salt")
	}
}

func TestVerifyRefusesMalformed(t *testing.T) {
	for _, bad := range []string{
		"", "plain", "$argon2i$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=18$m=65536,t=2,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=0,t=2,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdA$aGFzaA",
		"$argon2id$v=19$m=65536,t=2,p=1$!!$aGFzaA",
		"$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$",
	} {
		if ok, err := Verify(bad, "x"); ok || err != ErrMalformed {
			t.Errorf("Verify(%q) = %v, %v; want false, ErrMalformed", bad, ok, err)
		}
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo", "pw")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$$", "")
	f.Fuzz(func(t *testing.T, encoded, pw string) {
		Verify(encoded, pw) // must not panic on any stored value
	})
}

// No more hashes run at once than there are CPUs: with every slot taken, a
// Verify waits in the queue, and runs once one frees.
func TestHashingIsBoundedByCPUs(t *testing.T) {
	h, err := Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	if hashing.size != runtime.GOMAXPROCS(0) {
		t.Fatalf("%d hashing slots for %d CPUs", hashing.size, runtime.GOMAXPROCS(0))
	}
	for range hashing.size {
		if !hashing.tryAcquire(Normal) {
			t.Fatal("a free slot was refused")
		}
	}
	done := make(chan bool)
	go func() { ok, _ := Verify(h, "pw"); done <- ok }()
	waitQueued(t, hashing, Normal, 1)
	hashing.release(Normal)
	if !<-done {
		t.Fatal("the verification failed once a slot freed")
	}
	for range hashing.size - 1 {
		hashing.release(Normal)
	}
}

// Issue 15 §4: sources with recent failures (Low) saturating their share
// of the slots, and more of them queued, a clean login (Normal) still gets
// a slot at once; Low never takes the last ones.
func TestFailingSourcesLeaveSlotsForCleanLogins(t *testing.T) {
	for _, n := range []int{2, 3, 4, 8} {
		s := newSlots(n)
		lowMax := max(1, n/2)
		for i := range lowMax {
			if !s.tryAcquire(Low) {
				t.Fatalf("%d CPUs: Low refused slot %d of its %d", n, i+1, lowMax)
			}
		}
		if s.tryAcquire(Low) {
			t.Fatalf("%d CPUs: Low took more than its %d slots", n, lowMax)
		}
		go s.acquire(Low)
		go s.acquire(Low)
		waitQueued(t, s, Low, 2)
		for i := range n - lowMax {
			if !s.tryAcquire(Normal) {
				t.Fatalf("%d CPUs: clean login %d had to wait behind failing sources", n, i+1)
			}
		}
		// A slot a clean login frees is not handed to Low, which holds
		// its share already.
		s.release(Normal)
		if s.queued(Low) != 2 || !s.tryAcquire(Normal) {
			t.Fatalf("%d CPUs: a freed slot went to a failing source", n)
		}
		// One Low finishing lets exactly one queued Low in.
		s.release(Low)
		waitQueued(t, s, Low, 1)
		s.release(Low)
		waitQueued(t, s, Low, 0)
	}
}

// With one CPU, Low may use the only slot, but a clean login queued behind
// it goes before every Low one queued earlier.
func TestCleanLoginsGoFirst(t *testing.T) {
	s := newSlots(1)
	if !s.tryAcquire(Low) {
		t.Fatal("the free slot was refused")
	}
	lowDone, normalDone := make(chan bool), make(chan bool)
	go func() { s.acquire(Low); lowDone <- true }()
	waitQueued(t, s, Low, 1)
	go func() { s.acquire(Normal); normalDone <- true }()
	waitQueued(t, s, Normal, 1)
	s.release(Low)
	<-normalDone
	if s.queued(Low) != 1 {
		t.Fatal("the queued failing source got the slot before the clean login")
	}
	s.release(Normal)
	<-lowDone
}

// waitQueued waits until want hashes of priority p are queued (10 s at
// most: the waiters are goroutines just started).
func waitQueued(t *testing.T, s *slots, p Priority, want int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); s.queued(p) != want; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d queued at priority %d, want %d", s.queued(p), p, want)
		}
	}
}
