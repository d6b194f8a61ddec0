package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

var fetchUIDSubjectRE = regexp.MustCompile(`^\* \d+ FETCH \(UID (\d+) BODY\[HEADER\.FIELDS \("?SUBJECT"?\)\] \{\d+\}$`)

// imapListing returns "uid subject" for every INBOX message, reading each
// message's header from its file: the index and the files must agree.
func imapListing(t *testing.T, n *Node) []string {
	t.Helper()
	m := dialIMAPS(t, n.Addr("imaps"), carol, carolPW)
	m.cmd("EXAMINE INBOX")
	m.tag++
	fmt.Fprintf(m.c, "t%d FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n", m.tag)
	var out []string
	for {
		l := m.line()
		if strings.HasPrefix(l, fmt.Sprintf("t%d ", m.tag)) {
			if !strings.Contains(l, " OK ") {
				t.Fatalf("FETCH: %s", l)
			}
			return out
		}
		f := fetchUIDSubjectRE.FindStringSubmatch(l)
		if f == nil {
			continue
		}
		subj := m.line()
		m.line() // blank line ending the header section
		out = append(out, f[1]+" "+subj)
	}
}

func TestIMAPKillDuringExpungeLosesNothing(t *testing.T) {
	n := mailboxNode(t)
	const total = 30
	submitPy(t, n, carol, total, testMessages(total)...)
	before := imapListing(t, n)
	if len(before) != total {
		t.Fatalf("listing %d messages:\n%s", len(before), strings.Join(before, "\n"))
	}
	for round, delay := range []time.Duration{0, 500 * time.Microsecond, 2 * time.Millisecond} {
		m := dialIMAPS(t, n.Addr("imaps"), carol, carolPW)
		m.cmd("SELECT INBOX")
		// A message marked in an earlier round and not yet expunged
		// when the crash came is still \Deleted: clear that first.
		m.cmd("STORE 1:* -FLAGS.SILENT (\\Deleted)")
		// Mark every other message \Deleted, then EXPUNGE and crash.
		var del []string
		for i := 0; i < len(before); i += 2 {
			del = append(del, strings.Fields(before[i])[0])
		}
		m.cmd("UID STORE " + strings.Join(del, ",") + " +FLAGS.SILENT (\\Deleted)")
		fmt.Fprintf(m.c, "x EXPUNGE\r\n")
		time.Sleep(delay)
		n.Kill()
		n.Start()
		after := imapListing(t, n)
		if len(after) != len(n.Maildir(carol)) {
			t.Fatalf("round %d: IMAP lists %d messages, %d files", round, len(after), len(n.Maildir(carol)))
		}
		have := map[string]bool{}
		for _, a := range after {
			have[a] = true
		}
		for i := 1; i < len(before); i += 2 {
			if !have[before[i]] {
				t.Fatalf("round %d: %q was not \\Deleted but is gone (or changed UID)\nafter:\n%s", round, before[i], strings.Join(after, "\n"))
			}
		}
		for s, c := range subjectsOnDisk(t, n, carol) {
			if c != 1 {
				t.Fatalf("round %d: msg %d stored %d times", round, s, c)
			}
		}
		before = after
		if len(before) <= 1 {
			break
		}
	}
}
