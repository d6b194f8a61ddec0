package spool

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func open(t *testing.T, dir string) *Spool {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestPutOpenRoundTrip(t *testing.T) {
	s := open(t, t.TempDir())
	body := []byte("Subject: hi\r\n\r\nbody\r\n")
	env := &Envelope{From: "a@x.example", To: []string{"b@y.example", "c@y.example"}, Received: time.Unix(1700000000, 0), Origin: "submission"}
	if err := s.Put(env, body); err != nil {
		t.Fatal(err)
	}
	if got := <-s.Arrivals(); got != env.ID {
		t.Fatalf("arrival %q, want %q", got, env.ID)
	}
	m, err := s.Open(env.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	got, _ := io.ReadAll(m.Body())
	if !bytes.Equal(got, body) {
		t.Fatalf("body %q, want %q", got, body)
	}
	if m.Envelope.From != env.From || len(m.Envelope.To) != 2 || m.Envelope.Size != int64(len(body)) {
		t.Fatalf("envelope %+v", m.Envelope)
	}
	st, err := s.State(&m.Envelope)
	if err != nil || len(st.Pending()) != 2 {
		t.Fatalf("fresh state %+v, %v", st, err)
	}
}

func TestStateSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	env := &Envelope{From: "", To: []string{"b@y.example", "c@y.example"}, Received: time.Now()}
	if err := s.Put(env, []byte("x\r\n")); err != nil {
		t.Fatal(err)
	}
	st, _ := s.State(env)
	st.Set("b@y.example", Delivered, "")
	st.LastError = "451 try later"
	if err := s.SaveState(env.ID, st); err != nil {
		t.Fatal(err)
	}
	s2 := open(t, dir)
	m, err := s2.Open(env.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	st2, err := s2.State(&m.Envelope)
	if err != nil {
		t.Fatal(err)
	}
	if p := st2.Pending(); len(p) != 1 || p[0] != "c@y.example" || st2.LastError != "451 try later" {
		t.Fatalf("state after reopen: %+v", st2)
	}
}

// A crash leaves partial files in tmp/ and may leave a state file whose
// message was removed; recovery must drop both and keep complete messages.
func TestRecoveryDropsPartialFiles(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	env := &Envelope{To: []string{"b@y.example"}, Received: time.Now()}
	if err := s.Put(env, []byte("complete\r\n")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "tmp", "abc123"), []byte("MAILGATE-SPOOL 1\n{\"id\":"), 0o600)
	os.WriteFile(filepath.Join(dir, "state", "def456"), []byte("{}"), 0o600)
	s.lock.Close() // the crash: the kernel drops the dead process's lock
	s2 := open(t, dir)
	ids, _ := s2.IDs()
	if len(ids) != 1 || ids[0] != env.ID {
		t.Fatalf("ids after recovery %v, want [%s]", ids, env.ID)
	}
	if _, err := os.Stat(filepath.Join(dir, "tmp", "abc123")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("partial tmp file survived recovery")
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "def456")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("orphan state file survived recovery")
	}
}

func TestRemove(t *testing.T) {
	s := open(t, t.TempDir())
	env := &Envelope{To: []string{"b@y.example"}, Received: time.Now()}
	s.Put(env, []byte("x\r\n"))
	if err := s.Remove(env.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(env.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second remove: %v", err)
	}
	if _, err := s.Open("../../etc/passwd"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("path traversal id: %v", err)
	}
}

// Concurrent Puts share directory fsyncs; each must still land.
func TestConcurrentPuts(t *testing.T) {
	s := open(t, t.TempDir())
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Put(&Envelope{To: []string{"b@y.example"}, Received: time.Now()}, []byte("x\r\n")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if ids, _ := s.IDs(); len(ids) != 64 {
		t.Fatalf("%d messages, want 64", len(ids))
	}
}

func BenchmarkPut10KiB(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	body := bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n"), 160)
	b.SetBytes(int64(len(body)))
	b.SetParallelism(10)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Put(&Envelope{To: []string{"b@y.example"}, Received: time.Now()}, body); err != nil {
				b.Fatal(err)
			}
			select {
			case <-s.Arrivals():
			default:
			}
		}
	})
}

func TestTakeFreshOnlyOnceAndOnlyForOwnPuts(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	env := &Envelope{To: []string{"b@y.example"}, Received: time.Now()}
	if err := s.Put(env, []byte("x\r\n")); err != nil {
		t.Fatal(err)
	}
	if !s.TakeFresh(env.ID) {
		t.Fatal("a message this process put is not fresh")
	}
	if s.TakeFresh(env.ID) {
		t.Fatal("fresh twice")
	}
	env2 := &Envelope{To: []string{"b@y.example"}, Received: time.Now()}
	s.Put(env2, []byte("y\r\n"))
	s.Close()
	// A message found by a later process may have been half delivered.
	s2 := open(t, dir)
	if s2.TakeFresh(env2.ID) {
		t.Fatal("a message from an earlier process counted as fresh")
	}
}

// A second opener (a CLI command beside a running node) finds the spool in
// use and must leave tmp/, where the node writes, alone.
func TestOpenBesideARunningSpoolKeepsItsTmpFiles(t *testing.T) {
	dir := t.TempDir()
	open(t, dir)
	inFlight := filepath.Join(dir, "tmp", "abc123")
	os.WriteFile(inFlight, []byte("MAILGATE-SPOOL 1\n"), 0o600)
	open(t, dir)
	if _, err := os.Stat(inFlight); err != nil {
		t.Fatalf("a second Open removed the running spool's file in tmp/: %v", err)
	}
}
