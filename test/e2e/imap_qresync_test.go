package e2e

import (
	"strings"
	"testing"
)

// TestIMAPQResync: RFC 7162 QRESYNC against the binary with Python's
// imaplib: a client enables QRESYNC (§3.2.3) and notes UIDVALIDITY and
// HIGHESTMODSEQ; another session deletes and expunges one message and
// flags another; a live session that enabled QRESYNC is told
// "* VANISHED uid" instead of EXPUNGE (§3.2.10); the client comes back
// with SELECT INBOX (QRESYNC (uidvalidity modseq)) and gets exactly
// VANISHED (EARLIER) for the expunged UID and a FETCH of the flagged one
// (§3.2.5.1), and the same from UID FETCH (CHANGEDSINCE n VANISHED)
// (§3.2.6); after a restart of the node the history still answers.
func TestIMAPQResync(t *testing.T) {
	n := NewNode(t, "", "")
	const user, pw = "hana@example.jp", "correct horse"
	n.AddUser(user, pw)
	n.Start()
	for _, s := range []string{"one", "two", "three"} {
		mxPy(t, n, user, "From: a@remote.example\r\nTo: "+user+"\r\nSubject: "+s+"\r\n\r\nx\r\n")
	}
	n.WaitMaildir(user, 3)
	const helpers = pyLoginAfterCaps + `
import re, json
def resync(uv, hm):
    c = login2()
    c.enable("QRESYNC")
    typ, dat = c._simple_command("SELECT", "INBOX", "(QRESYNC (%d %d))" % (uv, hm))
    c.state = "SELECTED"
    print("select", typ, d(c.response("VANISHED")), mask(d(c.response("FETCH"))))
    typ, dat = c.uid("FETCH", "1:*", "(FLAGS)", "(CHANGEDSINCE %d VANISHED)" % hm)
    print("uid fetch", typ, d(c.response("VANISHED")), mask(d(dat)))
    c.logout()
def mask(x):
    return json.loads(re.sub(r"MODSEQ \(\d+\)", "MODSEQ (n)", json.dumps(x)))
`
	state := t.TempDir() + "/state"
	got := imapPy(t, n, user, pw, helpers+`
a = login2()
print("cap", "QRESYNC" in a.capabilities)
a.enable("QRESYNC")
print("enable", d(a.response("ENABLED")))
a.select("INBOX")
uv = int(d(a.response("UIDVALIDITY")[1][0]))
hm = int(d(a.response("HIGHESTMODSEQ")[1][0]))
a.logout()
w = login2()
w.enable("QRESYNC")
w.select("INBOX")
b = login()
b.select("INBOX")
b.uid("STORE", "1", "+FLAGS.SILENT", "(\\Deleted)")
b.expunge()
b.uid("STORE", "3", "+FLAGS.SILENT", "(\\Flagged)")
b.logout()
w.noop()
print("live", d(w.response("VANISHED")), d(w.response("EXPUNGE")))
w.logout()
resync(uv, hm)
open(os.environ["STATE"], "w").write("%d %d" % (uv, hm))
`, "STATE="+state)
	want := `cap True
enable ('ENABLED', ['QRESYNC'])
live ('VANISHED', ['1']) ('EXPUNGE', [None])
select OK ('VANISHED', ['(EARLIER) 1']) ['FETCH', ['2 (UID 3 FLAGS (\\Flagged) MODSEQ (n))']]
uid fetch OK ('VANISHED', ['(EARLIER) 1']) ['2 (UID 3 FLAGS (\\Flagged) MODSEQ (n))']
`
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	// The history is in the index: it answers after a restart.
	n.Stop()
	n.Start()
	got = imapPy(t, n, user, pw, helpers+`
uv, hm = map(int, open(os.environ["STATE"]).read().split())
resync(uv, hm)
`, "STATE="+state)
	if want := strings.Join(strings.Split(want, "\n")[3:], "\n"); got != want {
		t.Fatalf("after restart:\n%s\nwant:\n%s", got, want)
	}
}
