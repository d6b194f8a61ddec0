package e2e

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

var subjectRE = regexp.MustCompile(`(?m)^Subject: msg (\d+)\r$`)

// subjectsOnDisk maps "msg N" numbers to how many files hold them.
func subjectsOnDisk(t *testing.T, n *Node, account string) map[int]int {
	t.Helper()
	out := map[int]int{}
	for _, f := range n.Maildir(account) {
		m := subjectRE.FindStringSubmatch(readFile(t, f))
		if m == nil {
			t.Fatalf("%s: no test subject", f)
		}
		var i int
		fmt.Sscan(m[1], &i)
		out[i]++
	}
	return out
}

// pop3Listing logs in over POP3S and returns "uidl subject" for every
// message, reading each one: the index and the files must agree.
func pop3Listing(t *testing.T, n *Node) []string {
	t.Helper()
	p := dialPOP3S(t, n.Addr("pop3s"))
	p.login(carol, carolPW)
	stat := p.cmd("STAT", "+OK ")
	var count int
	fmt.Sscanf(stat, "+OK %d", &count)
	var out []string
	for i := 1; i <= count; i++ {
		u := strings.Fields(p.cmd(fmt.Sprintf("UIDL %d", i), "+OK "))[2]
		p.cmd(fmt.Sprintf("RETR %d", i), "+OK ")
		subj := ""
		for {
			l := p.line()
			if l == "." {
				break
			}
			if strings.HasPrefix(l, "Subject: ") {
				subj = l
			}
		}
		out = append(out, u+" "+subj)
	}
	p.cmd("QUIT", "+OK")
	return out
}

func TestPOP3KillDuringDeleAndQuitLosesNothing(t *testing.T) {
	n := mailboxNode(t)
	const total = 24
	submitPy(t, n, carol, total, testMessages(total)...)
	before := pop3Listing(t, n)
	if len(before) != total {
		t.Fatalf("listing: %d messages", len(before))
	}

	// DELE without QUIT, then a crash: nothing may be deleted.
	p := dialPOP3S(t, n.Addr("pop3s"))
	p.login(carol, carolPW)
	for i := 1; i <= total/2; i++ {
		p.cmd(fmt.Sprintf("DELE %d", i), "+OK")
	}
	n.Kill()
	n.Start()
	if after := pop3Listing(t, n); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatalf("after kill before QUIT:\n%s\nwant\n%s", strings.Join(after, "\n"), strings.Join(before, "\n"))
	}

	// DELE the odd messages, QUIT and kill at once, at a few different
	// moments: every even message survives with its UIDL; odd ones are
	// either gone or intact; the index matches the files.
	for round, delay := range []time.Duration{0, time.Millisecond, 3 * time.Millisecond} {
		p := dialPOP3S(t, n.Addr("pop3s"))
		p.login(carol, carolPW)
		stat := p.cmd("STAT", "+OK ")
		var count int
		fmt.Sscanf(stat, "+OK %d", &count)
		for i := 1; i <= count; i += 2 {
			p.cmd(fmt.Sprintf("DELE %d", i), "+OK")
		}
		fmt.Fprintf(p.c, "QUIT\r\n")
		time.Sleep(delay)
		n.Kill()
		n.Start()
		after := pop3Listing(t, n)
		onDisk := subjectsOnDisk(t, n, carol)
		if len(after) != len(n.Maildir(carol)) {
			t.Fatalf("round %d: POP3 lists %d messages, %d files", round, len(after), len(n.Maildir(carol)))
		}
		survivors := map[string]bool{}
		for _, a := range after {
			survivors[a] = true
		}
		// Which messages were even-numbered in that session: positions
		// 2, 4, ... of the listing before.
		for i, b := range before {
			if i%2 == 1 && !survivors[b] {
				t.Fatalf("round %d: message %q was not deleted but is gone\nafter:\n%s", round, b, strings.Join(after, "\n"))
			}
		}
		for s, c := range onDisk {
			if c != 1 {
				t.Fatalf("round %d: msg %d stored %d times", round, s, c)
			}
		}
		before = after
		sort.Strings(before) // UIDLs are hex with fixed width: sorted = listing order
		if len(before) <= 1 {
			break
		}
	}
}
