package imapd

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"mailgate/internal/mailbox"
)

func uidValidityOf(t *testing.T, sel string) string {
	t.Helper()
	m := regexp.MustCompile(`\[UIDVALIDITY (\d+)\]`).FindStringSubmatch(sel)
	if m == nil {
		t.Fatalf("no UIDVALIDITY in %s", sel)
	}
	return m[1]
}

func expectSuffix(t *testing.T, what, got, want string) {
	t.Helper()
	if !strings.HasSuffix(got, "\n"+want) {
		t.Fatalf("%s:\ngot  %q\nwant it to end in %q", what, got, want)
	}
}

// TestQResync walks RFC 7162 §3.2 over the wire, exact bytes: ENABLE
// QRESYNC, VANISHED instead of EXPUNGE for another session's expunge and
// for one's own (§3.2.10), SELECT (QRESYNC ...) answering VANISHED
// (EARLIER) and the changed messages (§3.2.5.1), known UIDs narrowing
// it, UID FETCH (CHANGEDSINCE n VANISHED) (§3.2.6), [CLOSED] when
// selecting while selected (§3.2.11).
func TestQResync(t *testing.T) {
	addr, _ := testServerWithMessages(t, 5)
	a, b := dial(t, addr), dial(t, addr)
	enableAdvertised(t, a, "QRESYNC")
	sel := a.do("SELECT INBOX")
	uv := uidValidityOf(t, sel)
	// §3.2.3: QRESYNC implies CONDSTORE.
	if !strings.Contains(sel, "\n* OK [HIGHESTMODSEQ 2] Highest") {
		t.Fatalf("SELECT: %s", sel)
	}
	b.do("SELECT INBOX")
	b.do(`STORE 2 +FLAGS.SILENT (\Deleted)`)
	expect(t, "B without QRESYNC gets EXPUNGE", b.do("EXPUNGE"), "* 2 EXPUNGE")
	expect(t, "A gets VANISHED", a.do("NOOP"), "* 2 FETCH (UID 2 FLAGS (\\Deleted) MODSEQ (3))\n* VANISHED 2")
	b.do(`UID STORE 3 +FLAGS.SILENT (\Flagged)`) // modseq 5

	c := dial(t, addr)
	expect(t, "enable", c.do("ENABLE QRESYNC"), "* ENABLED QRESYNC")
	expectSuffix(t, "SELECT (QRESYNC)", c.do("SELECT INBOX (QRESYNC ("+uv+" 2))"),
		"* OK [HIGHESTMODSEQ 5] Highest\n* VANISHED (EARLIER) 2\n* 2 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ (5))")
	// Known UIDs that leave out 2 and 3: nothing to tell. §3.2.11:
	// the mailbox selected is closed first.
	sel = c.do("EXAMINE INBOX (QRESYNC (" + uv + " 2 4:5))")
	if !strings.HasPrefix(sel, "* OK [CLOSED] ") || !strings.HasSuffix(sel, "* OK [HIGHESTMODSEQ 5] Highest") {
		t.Fatalf("EXAMINE (QRESYNC known-uids): %s", sel)
	}
	// Another UIDVALIDITY: a plain SELECT (§3.2.5).
	sel = c.do("SELECT INBOX (QRESYNC (1 2))")
	if strings.Contains(sel, "VANISHED") || strings.Contains(sel, "FETCH") {
		t.Fatalf("SELECT (QRESYNC) with a wrong UIDVALIDITY: %s", sel)
	}
	expect(t, "uid fetch vanished", c.do("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 2 VANISHED)"),
		"* VANISHED (EARLIER) 2\n* 2 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ (5))")
	expect(t, "uid fetch vanished within the set", c.do("UID FETCH 3:5 (FLAGS) (CHANGEDSINCE 4 VANISHED)"),
		"* 2 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ (5))")
	// Its own expunges: VANISHED, one for the run (§3.2.7, §3.2.9).
	// The tagged OK carries the HIGHESTMODSEQ the expunge made (§3.2.7).
	c.do(`UID STORE 1,5 +FLAGS.SILENT (\Deleted)`)
	expect(t, "own expunge", c.send("E1 EXPUNGE\r\n", "E1"), "* VANISHED 1,5\nE1 OK [HIGHESTMODSEQ 7] EXPUNGE completed")
	c.do(`UID STORE 4 +FLAGS.SILENT (\Deleted)`)
	expect(t, "own UID EXPUNGE", c.send("E2 UID EXPUNGE 4\r\n", "E2"), "* VANISHED 4\nE2 OK [HIGHESTMODSEQ 9] UID EXPUNGE completed")
	expect(t, "vanished since the start", c.do("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)"),
		"* VANISHED (EARLIER) 1:2,4:5\n* 1 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ (5))")
	expect(t, "A gets them too", a.do("NOOP"),
		"* 2 FETCH (UID 3 FLAGS (\\Flagged) MODSEQ (5))\n* 1 FETCH (UID 1 FLAGS (\\Deleted) MODSEQ (6))\n* 4 FETCH (UID 5 FLAGS (\\Deleted) MODSEQ (6))\n* VANISHED 1,5\n* 2 FETCH (UID 4 FLAGS (\\Deleted) MODSEQ (8))\n* VANISHED 4")
	// CLOSE: no VANISHED, the new HIGHESTMODSEQ in its OK (§3.2.8).
	c.do(`UID STORE 3 +FLAGS.SILENT (\Deleted)`)
	expect(t, "close", c.send("E3 CLOSE\r\n", "E3"), "E3 OK [HIGHESTMODSEQ 11] CLOSE completed")
	expect(t, "A sees it", a.do("NOOP"), "* 1 FETCH (UID 3 FLAGS (\\Flagged \\Deleted) MODSEQ (10))\n* VANISHED 3")
	expectSuffix(t, "all gone", c.do("SELECT INBOX (QRESYNC ("+uv+" 2))"), "* OK [HIGHESTMODSEQ 11] Highest\n* VANISHED (EARLIER) 1:5")
	expect(t, "unselect", c.send("E4 UNSELECT\r\n", "E4"), "E4 OK UNSELECT completed")
}

// TestQResyncBad: the forms RFC 7162 §3.2.5 and §3.2.6 make BAD.
func TestQResyncBad(t *testing.T) {
	addr, root := testServer(t)
	deliver(t, root, 1)
	c := dial(t, addr)
	expect(t, "not enabled", c.send("B1 SELECT INBOX (QRESYNC (1 2))\r\n", "B1"), "B1 BAD [CLIENTBUG] QRESYNC is not enabled")
	c.do("ENABLE QRESYNC")
	for cmd, want := range map[string]string{
		"B2 SELECT INBOX (QRESYNC (0 2))":                     "B2 BAD [CLIENTBUG] Invalid UIDVALIDITY",
		"B3 SELECT INBOX (QRESYNC (1 2 1:3 (1:2 5)))":         "B3 BAD [CLIENTBUG] Sequence-match sets differ in size",
		"B4 SELECT INBOX (QRESYNC (1))":                       "B4 BAD [CLIENTBUG]",
		"B5 SELECT INBOX (QRESYNC (1 0))":                     "B5 BAD [CLIENTBUG] Invalid mod-sequence value",
		"B6 SELECT INBOX (QRESYNC (1 2 1:3 (1:2 1:2 9)))":     "B6 BAD [CLIENTBUG]",
		"B7 SELECT INBOX (QRESYNC (1 2) QRESYNC (1 2))":       "B7 BAD [CLIENTBUG] Unknown SELECT parameter",
		"B8 SELECT INBOX (QRESYNC (1 2 (1:2 1:2)) CONDSTORE)": "B8 OK",
	} {
		tag := cmd[:2]
		if got := c.send(cmd+"\r\n", tag); !strings.HasPrefix(got[strings.LastIndex(got, "\n")+1:], want) {
			t.Errorf("%s:\ngot  %q\nwant %q", cmd, got, want)
		}
	}
	for cmd, want := range map[string]string{
		"C1 FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)": "C1 BAD [CLIENTBUG] VANISHED needs UID FETCH, CHANGEDSINCE and QRESYNC enabled",
		"C2 UID FETCH 1 (FLAGS) (VANISHED)":            "C2 BAD [CLIENTBUG] VANISHED needs UID FETCH, CHANGEDSINCE and QRESYNC enabled",
		"C3 UID FETCH 1 (FLAGS) (VANISHED VANISHED)":   "C3 BAD [CLIENTBUG] Unknown FETCH modifier",
	} {
		tag := cmd[:2]
		if got := c.send(cmd+"\r\n", tag); !strings.HasPrefix(got, want) {
			t.Errorf("%s:\ngot  %q\nwant %q", cmd, got, want)
		}
	}
	d := dial(t, addr)
	d.do("SELECT INBOX")
	expect(t, "vanished without ENABLE", d.send("D1 UID FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)\r\n", "D1"),
		"D1 BAD [CLIENTBUG] VANISHED needs UID FETCH, CHANGEDSINCE and QRESYNC enabled")
}

// When the history at the client's mod-sequence is gone, every UID not
// live is reported (RFC 7162 §3.2.5.2), narrowed by the known UIDs and by
// sequence-match data: a pair still in place means nothing at or below
// its UID vanished.
func TestResyncVanishedWithoutHistory(t *testing.T) {
	msgs := []mailbox.Message{{UID: 3}, {UID: 5}, {UID: 8}}
	missing := []mailbox.UIDRange{{First: 1, Last: 2}, {First: 4, Last: 4}, {First: 6, Last: 7}, {First: 9, Last: 9}}
	for _, tc := range []struct {
		p    imap.SelectQResync
		want string
	}{
		{imap.SelectQResync{}, "1:2,4,6:7,9"},
		{imap.SelectQResync{KnownUIDs: imap.UIDSet{{Start: 4, Stop: 0}}}, "4,6:7,9"},
		// The client had 3 at 1 and 5 at 2: still so.
		{imap.SelectQResync{SeqMatch: &imap.SelectSeqMatch{SeqNums: imap.SeqSetNum(1, 2), UIDs: imap.UIDSetNum(3, 5)}}, "6:7,9"},
		// 7 at 3 no longer holds: only the first pair counts.
		{imap.SelectQResync{SeqMatch: &imap.SelectSeqMatch{SeqNums: imap.SeqSetNum(1, 3), UIDs: imap.UIDSetNum(3, 7)}}, "4,6:7,9"},
	} {
		if got := resyncVanished(&tc.p, msgs, missing, false).String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.p, got, tc.want)
		}
	}
	// Exact history ignores sequence-match data.
	p := imap.SelectQResync{SeqMatch: &imap.SelectSeqMatch{SeqNums: imap.SeqSetNum(1), UIDs: imap.UIDSetNum(3)}}
	if got := resyncVanished(&p, msgs, missing[:1], true).String(); got != "1:2" {
		t.Errorf("exact: %q", got)
	}
}

// MOVE's expunges come as VANISHED too once QRESYNC is enabled (RFC 6851
// defers to it; RFC 7162 §3.2.10), after the COPYUID.
func TestQResyncMove(t *testing.T) {
	addr, _ := testServerWithMessages(t, 2)
	c := dial(t, addr)
	c.do("ENABLE QRESYNC")
	c.do("SELECT INBOX")
	got := c.do("UID MOVE 2 Trash")
	if !strings.HasPrefix(got, "* OK [COPYUID ") || !strings.HasSuffix(got, "\n* VANISHED 2") || strings.Contains(got, "EXPUNGE") {
		t.Fatalf("UID MOVE: %q", got)
	}
}

// An idling client that enabled QRESYNC is told of another session's
// expunges with VANISHED, as they happen (RFC 7162 §3.2.10).
func TestQResyncIdle(t *testing.T) {
	addr, _ := testServerWithMessages(t, 3)
	c, b := dial(t, addr), dial(t, addr)
	c.do("ENABLE QRESYNC")
	c.do("SELECT INBOX")
	b.do("SELECT INBOX")
	fmt.Fprintf(c.c, "I1 IDLE\r\n")
	if l := c.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	b.do(`STORE 1,3 +FLAGS.SILENT (\Deleted)`)
	b.do("EXPUNGE")
	for _, want := range []string{"* 1 FETCH (UID 1 FLAGS (\\Deleted) MODSEQ (3))", "* 3 FETCH (UID 3 FLAGS (\\Deleted) MODSEQ (3))"} {
		expect(t, "flag update", c.line(), want)
	}
	// One VANISHED for the run, or one each if the writer woke between.
	got := c.line()
	if got == "* VANISHED 3" {
		expect(t, "second expunge", c.line(), "* VANISHED 1")
	} else {
		expect(t, "expunges", got, "* VANISHED 1,3")
	}
	fmt.Fprintf(c.c, "DONE\r\n")
	if l := c.line(); !strings.HasPrefix(l, "I1 OK") {
		t.Fatalf("DONE: %q", l)
	}
}

// nums walks a set's ranges in the client's order, descending ones too,
// up to the top of the UID space without wrapping.
func TestNums(t *testing.T) {
	set := imap.SeqSet{{Start: 3, Stop: 1}, {Start: 7, Stop: 7}, {Start: math.MaxUint32 - 1, Stop: math.MaxUint32}}
	var got []uint32
	for n := range nums(set) {
		got = append(got, n)
	}
	if want := []uint32{3, 2, 1, 7, math.MaxUint32 - 1, math.MaxUint32}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("nums %v, want %v", got, want)
	}
	for n := range nums(set) {
		if n == 2 {
			break // stopping early must not panic
		}
	}
}
