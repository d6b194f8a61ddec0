package imapserver

import (
	"bufio"
	"fmt"
	"net"
	"testing"
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
	if again := st.IdleFunc(&UpdateWriter{conn: c, allowExpunge: true}); again == nil {
		t.Fatal("no second IdleFunc")
	} else if err := again(); err != nil {
		t.Errorf("a second IDLE after the first stopped: %v", err)
	}
}
