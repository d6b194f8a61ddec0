package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailgate/internal/loadgen"
)

// sender runs concurrent clients submitting uniquely numbered messages
// (loadgen.Message: X-Loadgen-Seq and a last line "end <seq>") and keeps
// the set of messages that got a 250.
type sender struct {
	n      *Node
	prefix string
	size   int

	mu    sync.Mutex
	acked map[string]bool
	tried atomic.Int64
	okN   atomic.Int64
}

func newSender(n *Node, prefix string, size int) *sender {
	return &sender{n: n, prefix: prefix, size: size, acked: map[string]bool{}}
}

// run starts clients that each send perConn messages per connection
// until stop is closed or the server goes away; wait with the returned
// WaitGroup.
func (s *sender) run(clients, perConn int, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	target := loadgen.Target{Addr: s.n.Addr("submission"), User: alice, Password: alicePW, Timeout: 10 * time.Second}
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				sess, err := loadgen.Open(context.Background(), target)
				if err != nil {
					return // the server is gone
				}
				for i := 0; i < perConn; i++ {
					seq := fmt.Sprintf("%s-%d", s.prefix, s.tried.Add(1))
					if err := sess.Send(alice, []string{bob}, s.message(seq)); err != nil {
						sess.Close()
						return
					}
					s.mu.Lock()
					s.acked[seq] = true
					s.mu.Unlock()
					s.okN.Add(1)
				}
				sess.Close()
			}
		}()
	}
	return &wg
}

func (s *sender) message(seq string) []byte {
	return loadgen.Message(alice, bob, seq, s.size)
}

var seqRE = regexp.MustCompile(`\r\nX-Loadgen-Seq: (\S+)\r\n`)

// mailboxBySeq reads bob's Maildir and returns how often each sequence
// number was delivered, failing on any message that is not complete.
func mailboxBySeq(t *testing.T, n *Node, s *sender) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, f := range n.Maildir(bob) {
		b := readFile(t, f)
		m := seqRE.FindStringSubmatch(b)
		if m == nil {
			t.Fatalf("delivered message without X-Loadgen-Seq (partial?): %s\n%.400q", f, b)
		}
		seq := m[1]
		// Complete: after our Received and fix-up fields, exactly the
		// bytes the client sent.
		want := string(s.message(seq))
		if !strings.HasSuffix(b, want) {
			t.Fatalf("message %s is not the complete message sent (%d bytes stored, %d sent)", seq, len(b), len(want))
		}
		onlyCRLF(t, b)
		got[seq]++
	}
	return got
}

// waitDelivered waits until every acked message is in the Maildir and the
// spool is empty.
func waitDelivered(t *testing.T, n *Node, s *sender) map[string]int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := mailboxBySeq(t, n, s)
		missing := 0
		s.mu.Lock()
		for seq := range s.acked {
			if got[seq] == 0 {
				missing++
			}
		}
		s.mu.Unlock()
		if missing == 0 && spoolEmpty(n) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d acknowledged messages never delivered (spool empty: %v)\nlog:\n%s", missing, spoolEmpty(n), n.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Issue 2 §4: SIGKILL under load, at several points, then restart: every
// message that got a 250 is delivered exactly once, nothing partial is
// ever delivered, and nothing that was not sent appears.
func TestSubmissionCrashUnderLoad(t *testing.T) {
	n := submissionNode(t, "[log]\nlevel = \"warn\"\n")
	s := newSender(n, "crash", 6000)
	// Kill after this many more acknowledgements each round: early (the
	// first connections), mid-stream, and later with delivery running.
	for round, after := range []int64{3, 25, 60, 10} {
		stop := make(chan struct{})
		base := s.okN.Load()
		wg := s.run(6, 3, stop)
		deadline := time.Now().Add(60 * time.Second)
		for s.okN.Load()-base < after {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: only %d acknowledgements\nlog:\n%s", round, s.okN.Load()-base, n.Log())
			}
			time.Sleep(2 * time.Millisecond)
		}
		n.Kill()
		close(stop)
		wg.Wait()
		n.Start()
	}
	got := waitDelivered(t, n, s)
	for seq, c := range got {
		if c != 1 {
			t.Errorf("message %s delivered %d times", seq, c)
		}
		if !strings.HasPrefix(seq, "crash-") {
			t.Errorf("unexpected message %s", seq)
		}
	}
	s.mu.Lock()
	acked := len(s.acked)
	s.mu.Unlock()
	// Messages spooled but killed before their 250 reached the client
	// may be delivered too (the client will retry them: RFC 5321 §6.1
	// allows duplicates, never losses); they are counted, not required.
	t.Logf("%d acknowledged, %d delivered, %d attempted", acked, len(got), s.tried.Load())
	if acked < 50 {
		t.Fatalf("only %d messages acknowledged: the test did not load the server", acked)
	}
	if _, err := os.Stat(filepath.Join(n.Dir, "spool", "msg")); err != nil {
		t.Fatal(err)
	}
}

// Issue 2 §1: SIGTERM while clients are mid-session. The node stops
// accepting, a message still in DATA is never acknowledged nor delivered
// (not now, not after a restart), a message finished before the end of
// the grace period is delivered once, idle sessions are closed.
func TestSubmissionGracefulShutdown(t *testing.T) {
	n := submissionNode(t, "")
	s := newSender(n, "graceful", 3000)

	// A: inside DATA with half a message, never finishes.
	a := login(t, n, alice, alicePW)
	a.cmd("MAIL FROM:<alice@example.net>", "250 ")
	a.cmd("RCPT TO:<bob@example.net>", "250 ")
	a.cmd("DATA", "354 ")
	half := string(s.message("graceful-partial-A"))
	a.write(half[:len(half)/2])
	// B: inside DATA, finishes just after SIGTERM.
	b := login(t, n, alice, alicePW)
	b.cmd("MAIL FROM:<alice@example.net>", "250 ")
	b.cmd("RCPT TO:<bob@example.net>", "250 ")
	b.cmd("DATA", "354 ")
	full := string(s.message("graceful-B"))
	b.write(full[:100])
	// C: authenticated and idle.
	c := login(t, n, alice, alicePW)
	// D: a message acknowledged before the signal.
	d := login(t, n, alice, alicePW)
	d.cmd("MAIL FROM:<alice@example.net>", "250 ")
	d.cmd("RCPT TO:<bob@example.net>", "250 ")
	d.cmd("DATA", "354 ")
	d.write(string(s.message("graceful-D")) + ".\r\n")
	d.expectReply("250 ")
	s.acked["graceful-D"] = true

	stopped := make(chan struct{})
	go func() { n.Stop(); close(stopped) }()
	// The listener closes: new connections are refused.
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := dialNoFail(n.Addr("submission"))
		if err != nil {
			break
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting connections after SIGTERM")
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.write(full[100:] + ".\r\n")
	if code, text := b.reply(); code == 250 {
		s.acked["graceful-B"] = true
	} else {
		t.Logf("B after SIGTERM: %s", text)
	}
	<-stopped
	if !a.closed() || !c.closed() {
		t.Fatal("sessions still open after the server stopped")
	}

	n.Start()
	got := waitDelivered(t, n, s)
	if got["graceful-partial-A"] != 0 {
		t.Fatal("the half-sent message was delivered")
	}
	for seq, k := range got {
		if k != 1 || !s.acked[seq] {
			t.Fatalf("message %s delivered %d times (acked %v)", seq, k, s.acked[seq])
		}
	}
	if len(got) != len(s.acked) {
		t.Fatalf("delivered %v, acknowledged %v", got, s.acked)
	}
}

func dialNoFail(addr string) (net.Conn, error) {
	return net.DialTimeout("tcp", addr, time.Second)
}
