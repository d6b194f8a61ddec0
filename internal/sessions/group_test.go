package sessions

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

type fakeSession struct {
	c        net.Conn
	stop     chan struct{}
	asked    atomic.Bool
	finished *atomic.Int32
	ignore   bool // never ends on Shutdown: only Close ends it
}

func (s *fakeSession) Run() {
	defer s.finished.Add(1)
	buf := make([]byte, 1)
	for {
		if _, err := s.c.Read(buf); err != nil {
			return
		}
	}
}
func (s *fakeSession) Shutdown() {
	s.asked.Store(true)
	if !s.ignore {
		s.c.Close()
	}
}
func (s *fakeSession) Close() { s.c.Close() }

// TestShutdownEndsSessionsThenClosesStragglers: Shutdown stops accepting
// (Serve returns nil), asks every session to end, and closes the ones
// still running when the grace ends.
func TestShutdownEndsSessionsThenClosesStragglers(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var g Group
	var finished atomic.Int32
	var started atomic.Int32
	served := make(chan error, 1)
	var sessions []*fakeSession
	go func() {
		served <- g.Serve(l, func(c net.Conn) Session {
			s := &fakeSession{c: c, finished: &finished, ignore: started.Add(1) == 2}
			sessions = append(sessions, s)
			return s
		})
	}()
	for range 2 {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	for started.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	g.Shutdown(ctx)
	if err := <-served; err != nil {
		t.Fatalf("Serve after Shutdown: %v", err)
	}
	if finished.Load() != 2 {
		t.Fatalf("%d sessions ended, want both (one asked, one closed)", finished.Load())
	}
	for _, s := range sessions {
		if !s.asked.Load() {
			t.Fatal("a session was not asked to shut down")
		}
	}
	if _, err := net.DialTimeout("tcp", l.Addr().String(), time.Second); err == nil {
		t.Fatal("still accepting after Shutdown")
	}
}
