package pop3d

import (
	"net"
	"testing"
	"time"
)

// A session that reaches its next read after Shutdown ends there, even
// when it was busy with a command (not reading) as Shutdown set the
// deadline.
func TestReadAfterShutdownEndsSession(t *testing.T) {
	c1, c2 := net.Pipe()
	defer c2.Close()
	s := newSession(&Server{}, c1, false)
	s.Shutdown()
	done := make(chan error, 1)
	go func() { _, err := s.readLine(); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a read after Shutdown returned a line")
		}
	case <-time.After(2 * time.Second):
		c1.Close()
		t.Fatal("a read after Shutdown waited for the client")
	}
}
