package e2e

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailgate/internal/loadgen"
)

// mxSender runs concurrent peer MTAs sending uniquely numbered messages to
// the MX: every message to bob, every third one to alice as well (one file
// linked into two Maildirs on the path before the 250). It keeps the set
// of messages that got a 250.
type mxSender struct {
	n     *Node
	mu    sync.Mutex
	acked map[string][]string // seq → recipients
	tried atomic.Int64
	okN   atomic.Int64
}

const mxCrashFrom = "sender@remote.example"

func (s *mxSender) recipients(seq int64) []string {
	if seq%3 == 0 {
		return []string{bob, alice}
	}
	return []string{bob}
}

func (s *mxSender) run(clients, perConn int, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				conn, err := net.DialTimeout("tcp", s.n.Addr("mx"), 5*time.Second)
				if err != nil {
					return // the server is gone
				}
				conn.SetDeadline(time.Now().Add(30 * time.Second))
				c := smtp.NewClient(conn)
				if err := c.Hello("peer.remote.example"); err != nil {
					c.Close()
					return
				}
				for range perConn {
					i := s.tried.Add(1)
					seq := fmt.Sprintf("mxcrash-%d", i)
					to := s.recipients(i)
					if err := c.SendMail(mxCrashFrom, to, bytes.NewReader(loadgen.Message(mxCrashFrom, bob, seq, 5000))); err != nil {
						c.Close()
						return
					}
					s.mu.Lock()
					s.acked[seq] = to
					s.mu.Unlock()
					s.okN.Add(1)
				}
				c.Quit()
				c.Close()
			}
		}()
	}
	return &wg
}

// copies reads account's Maildir: how often each message is there,
// failing on any that is not the complete message sent.
func (s *mxSender) copies(t *testing.T, account string) map[string]int {
	t.Helper()
	got := map[string]int{}
	for _, f := range s.n.Maildir(account) {
		b := readFile(t, f)
		m := seqRE.FindStringSubmatch(b)
		if m == nil {
			t.Fatalf("delivered message without X-Loadgen-Seq (partial?): %s\n%.400q", f, b)
		}
		if want := string(loadgen.Message(mxCrashFrom, bob, m[1], 5000)); !strings.HasSuffix(b, want) {
			t.Fatalf("message %s in %s is not the complete message sent (%d bytes stored, %d sent)", m[1], account, len(b), len(want))
		}
		onlyCRLF(t, b)
		got[m[1]]++
	}
	return got
}

// Issue 13 §2: SIGKILL under load on the MX, with local delivery before
// the 250 and with the spool first, then restart: every message that got
// a 250 is in each of its recipients' Maildirs exactly once, complete,
// and the spool empties; a message killed before its 250 may be there
// (the client retries it: RFC 5321 §6.1 allows duplicates, never losses),
// never twice.
func TestMXCrashUnderLoad(t *testing.T) {
	for _, path := range []struct{ name, toml string }{
		{"before the 250", ""},
		{"spool first", "[delivery]\nlocal_before_ack = false\n"},
	} {
		t.Run(path.name, func(t *testing.T) {
			n := submissionNode(t, "[log]\nlevel = \"warn\"\n[limits]\nmax_connections_per_ip = 100\n"+path.toml)
			s := &mxSender{n: n, acked: map[string][]string{}}
			for round, after := range []int64{3, 40, 80, 10} {
				stop := make(chan struct{})
				base := s.okN.Load()
				wg := s.run(8, 4, stop)
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
			deadline := time.Now().Add(60 * time.Second)
			for {
				inBob, inAlice := s.copies(t, bob), s.copies(t, alice)
				missing := 0
				s.mu.Lock()
				for seq, to := range s.acked {
					if inBob[seq] == 0 || len(to) == 2 && inAlice[seq] == 0 {
						missing++
					}
				}
				acked := len(s.acked)
				s.mu.Unlock()
				if missing == 0 && spoolEmpty(n) {
					for box, got := range map[string]map[string]int{bob: inBob, alice: inAlice} {
						for seq, c := range got {
							if c != 1 {
								t.Errorf("message %s is in %s %d times", seq, box, c)
							}
						}
					}
					t.Logf("%d acknowledged, %d in bob's Maildir, %d attempted", acked, len(inBob), s.tried.Load())
					if acked < 100 {
						t.Fatalf("only %d messages acknowledged: the test did not load the server", acked)
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d acknowledged messages never delivered (spool empty: %v)\nlog:\n%s", missing, spoolEmpty(n), n.Log())
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}
