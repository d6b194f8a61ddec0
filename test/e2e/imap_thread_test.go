package e2e

import (
	"fmt"
	"testing"
)

// TestIMAPThread: messages submitted through the real submission service
// come back threaded by UID THREAD and THREAD (RFC 5256 §4) over imaplib:
// replies by References, a reply with only a missing parent joined to its
// original by subject, a reference loop broken, threads oldest first.
func TestIMAPThread(t *testing.T) {
	n := mailboxNode(t)
	msg := func(id, refs, subject string, hour int) string {
		h := fmt.Sprintf("From: dave@example.org\nTo: carol@example.org\nMessage-ID: <%s@example.org>\nSubject: %s\nDate: Mon, 2 Mar 2026 %02d:00:00 +0000\n", id, subject, hour)
		if refs != "" {
			h += "References: " + refs + "\n"
		}
		return h + "\nbody\n"
	}
	for i, m := range []string{
		msg("a", "", "Plan", 10),
		msg("b", "<a@example.org>", "Re: Plan", 11),
		msg("c", "<a@example.org>", "Re: Plan", 12),
		msg("d", "<a@example.org> <c@example.org>", "Re: Plan", 13),
		msg("e", "", "Lunch", 9),
		"From: dave@example.org\nTo: carol@example.org\nMessage-ID: <f@example.org>\nIn-Reply-To: <gone@example.org>\nSubject: Re: [team] lunch\nDate: Mon, 2 Mar 2026 14:00:00 +0000\n\nbody\n",
		msg("g", "<h@example.org>", "Loop", 15),
		msg("h", "<g@example.org>", "Re: Loop", 16),
	} {
		submitPy(t, n, carol, i+1, m) // one at a time: UID i+1 is message i+1
	}
	got := imapPy(t, n, carol, carolPW, `
m = login()
print("caps", [c for c in d(m.capability()[1][0]).split() if c.startswith("THREAD=")])
m.select("INBOX")
print("uid-refs", d(m.uid("THREAD", "REFERENCES", "UTF-8", "ALL")))
print("refs-search", d(m.thread("REFERENCES", "US-ASCII", "SUBJECT", "plan")))
print("ordered", d(m.thread("ORDEREDSUBJECT", "UTF-8", "ALL")))
print("none", d(m.thread("REFERENCES", "UTF-8", "SUBJECT", "nothing-matches")))
for args in (("NOSUCH", "UTF-8", "ALL"), ("REFERENCES", "KOI8-R", "ALL")):
    try:
        print("answer", d(m.thread(*args)))
    except imaplib.IMAP4.error as e:
        print("refused", d(e.args[0]))
m.logout()
`)
	want := `caps ['THREAD=ORDEREDSUBJECT', 'THREAD=REFERENCES']
uid-refs ('OK', ['(5 6)(1 (2)(3 4))(8 7)'])
refs-search ('OK', ['(1 (2)(3 4))'])
ordered ('OK', ['(5 6)(1 (2)(3)(4))(7 8)'])
none ('OK', [''])
refused THREAD command error: BAD [b'Unknown threading algorithm']
answer ('NO', ['[BADCHARSET] Only US-ASCII and UTF-8 are supported THREAD charsets'])
`
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}
