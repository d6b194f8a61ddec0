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
// Verify waits, and runs once one frees.
func TestHashingIsBoundedByCPUs(t *testing.T) {
	h, err := Hash("pw")
	if err != nil {
		t.Fatal(err)
	}
	if cap(hashing) != runtime.GOMAXPROCS(0) {
		t.Fatalf("%d hashing slots for %d CPUs", cap(hashing), runtime.GOMAXPROCS(0))
	}
	for range cap(hashing) {
		hashing <- struct{}{}
	}
	done := make(chan bool)
	go func() { ok, _ := Verify(h, "pw"); done <- ok }()
	select {
	case <-done:
		t.Fatal("a verification ran while every slot was taken")
	case <-time.After(300 * time.Millisecond): // a hash takes ~25 ms: it would have finished
	}
	<-hashing
	if !<-done {
		t.Fatal("the verification failed once a slot freed")
	}
	for range cap(hashing) - 1 {
		<-hashing
	}
}
