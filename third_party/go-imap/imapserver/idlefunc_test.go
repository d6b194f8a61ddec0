package imapserver

import (
	"bufio"
	"fmt"
	"net"
	"testing"
	"time"
)

// mailgate: IdleFunc writes each queued update while it is on, from a
// goroutine of its own, and nothing once stopped.
func TestIdleFuncWritesUpdatesUntilStopped(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	c := newConn(server, New(&Options{}))
	mt := NewMailboxTracker(1)
	st := mt.NewSession()
	stop := st.IdleFunc(&UpdateWriter{conn: c, allowExpunge: true})
	r := bufio.NewReader(client)
	for n := uint32(2); n <= 3; n++ {
		mt.QueueNumMessages(n)
		want := fmt.Sprintf("* %d EXISTS\r\n", n)
		if got, err := r.ReadString('\n'); err != nil || got != want {
			t.Fatalf("read %q, %v; want %q", got, err, want)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	mt.QueueNumMessages(4) // net.Pipe: a write now would block for good
	st.mutex.Lock()
	queued := len(st.queue)
	st.mutex.Unlock()
	if queued != 1 {
		t.Errorf("%d updates queued after stop, want 1 (kept for the next poll)", queued)
	}
	// The next IDLE reports at once what was queued before it (it used
	// to wait for the next change).
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	again := st.IdleFunc(&UpdateWriter{conn: c, allowExpunge: true})
	if got, err := r.ReadString('\n'); err != nil || got != "* 4 EXISTS\r\n" {
		t.Fatalf("second IDLE: read %q, %v; want the update queued before it", got, err)
	}
	if err := again(); err != nil {
		t.Errorf("a second IDLE after the first stopped: %v", err)
	}
}

// mailgate: an update queued before IdleFunc (after the "+ idling", while
// the session synced its folder) is written at once, not only when the
// next one comes, as Idle does.
func TestIdleFuncWritesUpdatesQueuedBeforeIt(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	c := newConn(server, New(&Options{}))
	mt := NewMailboxTracker(1)
	st := mt.NewSession()
	mt.QueueNumMessages(2)
	stop := st.IdleFunc(&UpdateWriter{conn: c, allowExpunge: true})
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got, err := bufio.NewReader(client).ReadString('\n'); err != nil || got != "* 2 EXISTS\r\n" {
		t.Fatalf("read %q, %v; want the update queued before IDLE", got, err)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
}
