package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var queuedRE = regexp.MustCompile(`250 2\.0\.0 OK queued as ([0-9a-f]+)`)

// Issue 2 §4: recipients in other domains stay queued while their next
// hop cannot be reached (here a smarthost on a closed loopback port) and
// are listed; local ones of the same message are delivered. `queue
// list|show|remove` work on them.
func TestSubmissionRemoteRecipientsQueued(t *testing.T) {
	n := submissionNode(t, fmt.Sprintf("[delivery]\nsmarthost = \"127.0.0.1:%d\"\n", FreePort(t)))
	c := login(t, n, alice, alicePW)
	c.cmd("MAIL FROM:<alice@example.net>", "250 ")
	c.cmd("RCPT TO:<carol@remote.example>", "250 ")
	c.cmd("RCPT TO:<bob@example.net>", "250 ")
	c.cmd("DATA", "354 ")
	c.write(msg(alice, "carol@remote.example", "to remote", "for carol and bob\r\n") + ".\r\n")
	id := queuedRE.FindStringSubmatch(c.expectReply("250 "))[1]
	c.cmd("MAIL FROM:<>", "250 ")
	c.cmd("RCPT TO:<dave@other.example>", "250 ")
	c.cmd("DATA", "354 ")
	c.write(msg(alice, "dave@other.example", "second", "for dave\r\n") + ".\r\n")
	id2 := queuedRE.FindStringSubmatch(c.expectReply("250 "))[1]
	c.cmd("QUIT", "221 ")
	n.WaitMaildir(bob, 1)

	// Once the agent has recorded a failed attempt of each, the list
	// shows both with their pending recipient and last error.
	row1 := regexp.MustCompile(`(?m)^` + id + `\s+\d+\s+\S+ \S+\s+<alice@example\.net>\s+carol@remote\.example\s+[1-9]\d*\s+\S+ \S+\s+\S.*$`)
	row2 := regexp.MustCompile(`(?m)^` + id2 + `\s+\d+\s+\S+ \S+\s+<>\s+dave@other\.example\s+[1-9]\d*\s+\S+ \S+\s+\S.*$`)
	var list string
	deadline := time.Now().Add(20 * time.Second)
	for {
		list = n.MustCLI("", "queue", "list")
		if row1.MatchString(list) && row2.MatchString(list) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue list never showed both messages with a failed attempt:\n%s", list)
		}
		time.Sleep(100 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID ") || lines[3] != "2 message(s) queued" {
		t.Fatalf("queue list:\n%s", list)
	}

	show := n.MustCLI("", "queue", "show", id)
	for _, want := range []string{"id: " + id + "\n", "origin: submission\n", "auth: alice@example.net\n", "from: <alice@example.net>\n",
		"rcpt: <carol@remote.example> pending", "rcpt: <bob@example.net> delivered", "Subject: to remote\r\n", "\r\n\r\nfor carol and bob\r\n"} {
		if !strings.Contains(show, want) {
			t.Fatalf("queue show lacks %q:\n%s", want, show)
		}
	}
	// The queue survives a restart.
	n.Stop()
	n.Start()
	if out := n.MustCLI("", "queue", "list"); !strings.Contains(out, "2 message(s) queued") {
		t.Fatalf("after restart:\n%s", out)
	}

	if out := n.MustCLI("", "queue", "remove", id); out != id+" removed\n" {
		t.Fatalf("queue remove: %q", out)
	}
	out, err := n.CLI("", "queue", "show", id)
	if err == nil || !strings.Contains(out, "no such message") {
		t.Fatalf("show of a removed message: %v %s", err, out)
	}
	out, err = n.CLI("", "queue", "remove", id)
	if err == nil || !strings.Contains(out, "no such message") {
		t.Fatalf("second remove: %v %s", err, out)
	}
	for _, bad := range []string{"../../etc/passwd", "ZZZ", ""} {
		if out, err := n.CLI("", "queue", "show", bad); err == nil {
			t.Fatalf("queue show %q succeeded: %s", bad, out)
		}
	}
	if out := n.MustCLI("", "queue", "list"); !strings.Contains(out, "1 message(s) queued") || strings.Contains(out, id) {
		t.Fatalf("after remove:\n%s", out)
	}
	n.MustCLI("", "queue", "remove", id2)
	if !strings.HasSuffix(n.MustCLI("", "queue", "list"), "0 message(s) queued\n") {
		t.Fatal("queue not empty")
	}
	if len(n.Maildir(bob)) != 1 {
		t.Fatal("bob's copy changed")
	}
}

// An operator listing the queue while the node is under load must not
// disturb it: every submission still gets its 250.
func TestSubmissionQueueListUnderLoad(t *testing.T) {
	n := submissionNode(t, "[log]\nlevel = \"warn\"\n")
	s := newSender(n, "ql", 200000)
	stop := make(chan struct{})
	var lists sync.WaitGroup
	for range 2 {
		lists.Add(1)
		go func() {
			defer lists.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				n.CLI("", "queue", "list")
			}
		}()
	}
	wg := s.run(4, 5, stop)
	clientsDone := make(chan struct{})
	go func() { wg.Wait(); close(clientsDone) }()
	deadline := time.After(60 * time.Second)
wait:
	for s.okN.Load() < 200 {
		select {
		case <-clientsDone: // a client stops at its first failure
			break wait
		case <-deadline:
			break wait
		case <-time.After(10 * time.Millisecond):
		}
	}
	close(stop)
	wg.Wait()
	lists.Wait()
	if failed := s.tried.Load() - s.okN.Load(); failed != 0 {
		t.Fatalf("%d of %d submissions failed while the queue was listed\nlog:\n%s", failed, s.tried.Load(), n.Log())
	}
	waitDelivered(t, n, s)
}
