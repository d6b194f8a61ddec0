package e2e

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// pyLoginAfterCaps adds login2 to imapPy's prelude: login, then the
// capabilities as they are once authenticated. imaplib keeps the
// greeting's, and CONDSTORE and QRESYNC are offered only after login.
const pyLoginAfterCaps = `
def login2():
    m = login()
    m.capabilities = tuple(d(m.capability()[1][0]).upper().split())
    return m
`

// TestIMAPCondStore: RFC 7162 CONDSTORE against the binary with Python's
// imaplib: ENABLE, HIGHESTMODSEQ on SELECT (§3.1.2.1), a STORE reported
// with its MODSEQ, FETCH (CHANGEDSINCE) returning only that message
// (§3.1.4.1), a conditional STORE with a stale UNCHANGEDSINCE getting
// [MODIFIED] (§3.1.3), and HIGHESTMODSEQ raised by a delivery through the
// MX and by flagging in the webmail, and kept across a restart of the node
// (§3.1.1: strictly increasing per mailbox, across sessions).
func TestIMAPCondStore(t *testing.T) {
	NeedTool(t, "curl")
	n := webNode(t, "")
	const user, pw = "taro@example.jp", "correct horse"
	n.AddUser(user, pw)
	n.Start()
	deliver := func(subject string) {
		mxPy(t, n, user, "From: a@remote.example\r\nTo: taro@example.jp\r\nSubject: "+subject+"\r\n\r\nx\r\n")
	}
	for _, s := range []string{"one", "two", "three"} {
		deliver(s)
	}
	n.WaitMaildir(user, 3)
	const helpers = pyLoginAfterCaps + `
import re
def status(m):
    return int(re.search(r"HIGHESTMODSEQ (\d+)", d(m.status("INBOX", "(HIGHESTMODSEQ)")[1][0])).group(1))
`
	got := imapPy(t, n, user, pw, helpers+`
m = login2()
print("cap", "CONDSTORE" in m.capabilities)
m.enable("CONDSTORE")
print("enable", d(m.response("ENABLED")))
m.select("INBOX")
old = int(d(m.response("HIGHESTMODSEQ")[1][0]))
typ, dat = m.store("2", "+FLAGS", "(\\Flagged)")
fetch = d(dat[0])
print("store", re.sub(r"MODSEQ \(\d+\)", "MODSEQ (n)", fetch))
new = int(re.search(r"MODSEQ \((\d+)\)", fetch).group(1))
print("new > old", new > old)
typ, dat = m.fetch("1:*", "(FLAGS) (CHANGEDSINCE %d)" % old)
print("changedsince", [x.replace("(%d)" % new, "(new)") for x in d(dat)])
typ, dat = m._simple_command("STORE", "1:3", "(UNCHANGEDSINCE %d)" % old, "+FLAGS.SILENT", "(\\Seen)")
print("conditional", typ, d(dat))
print("status", status(m))
m.logout()
`)
	lines := strings.Split(strings.TrimSpace(got), "\n")
	last := lines[len(lines)-1]
	want := `cap True
enable ('ENABLED', ['CONDSTORE'])
store 2 (UID 2 FLAGS (\Flagged) MODSEQ (n))
new > old True
changedsince ['2 (FLAGS (\\Flagged) MODSEQ (new))']
conditional OK ['[MODIFIED 2] STORE completed']
`
	if strings.Join(lines[:len(lines)-1], "\n")+"\n" != want || !strings.HasPrefix(last, "status ") {
		t.Fatalf("got:\n%s\nwant:\n%sstatus N", got, want)
	}
	highest := func() int {
		out := imapPy(t, n, user, pw, helpers+`
m = login()
print(status(m))
`)
		v, err := strconv.Atoi(strings.TrimSpace(out))
		if err != nil {
			t.Fatalf("STATUS HIGHESTMODSEQ: %q", out)
		}
		return v
	}
	h0, _ := strconv.Atoi(strings.TrimPrefix(last, "status "))
	// The conditional STORE changed 1 and 3 (\Seen): above the STORE's.
	if h0 < 2 {
		t.Fatalf("HIGHESTMODSEQ %d", h0)
	}
	deliver("four")
	n.WaitMaildir(user, 4)
	h1 := highest()
	if h1 <= h0 {
		t.Fatalf("delivery: HIGHESTMODSEQ %d -> %d, want it raised", h0, h1)
	}
	https := "https://" + n.Addr("https")
	s := curlLogin(t, https, user, pw)
	if code, _ := curl(t, "-b", s.jar, "-d", "uid=4&action=flag&csrf="+url.QueryEscape(s.token), https+"/mail/act"); code != 303 {
		t.Fatalf("webmail flag: %d", code)
	}
	h2 := highest()
	if h2 <= h1 {
		t.Fatalf("webmail flag: HIGHESTMODSEQ %d -> %d, want it raised", h1, h2)
	}
	n.Stop()
	n.Start()
	got = imapPy(t, n, user, pw, helpers+`
m = login2()
m.enable("CONDSTORE")
m.select("INBOX")
print(d(m.response("HIGHESTMODSEQ")[1][0]), status(m))
typ, dat = m.fetch("1:*", "(FLAGS) (CHANGEDSINCE %d)" % `+strconv.Itoa(h1)+`)
print(d(dat))
`)
	if want := strconv.Itoa(h2) + " " + strconv.Itoa(h2) + "\n" + `['4 (FLAGS (\\Flagged) MODSEQ (` + strconv.Itoa(h2) + `))']` + "\n"; got != want {
		t.Fatalf("after restart:\n%s\nwant:\n%s", got, want)
	}
}
