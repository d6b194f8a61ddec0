package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"mailgate/internal/testpeer"
)

// TestWebmailSpamButtonsTeachRspamd: "this is spam" in the webmail moves
// the message to Junk and rspamd learns it as spam; "not spam" moves it
// back to INBOX and rspamd learns it as ham — the same lessons as the
// IMAP moves of TestScanLearnsFromJunkMoves.
func TestWebmailSpamButtonsTeachRspamd(t *testing.T) {
	NeedTool(t, "curl")
	redis, err := testpeer.StartRedis(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(redis.Stop)
	r, err := testpeer.StartRspamd(t.TempDir(), redis.RspamdRedisFiles())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	n := scanNode(t, "[scan]\nrspamd = \""+r.Addr+"\"\nrspamd_controller = \""+r.ControllerAddr+"\"\n")
	offer := testpeer.TestMail("Deals <deals@remote.example>", alice, "your exclusive offer",
		"Dear customer, our exclusive discount offer on premium watches ends tonight.\r\n"+
			"Click the link below to claim your reward before midnight, limited stock available.")
	wantReply(t, swaksMX(t, n, "deals@remote.example", alice, offer), "<-  250 2.0.0 OK queued as ")
	n.WaitMaildir(alice, 1)

	https := "https://" + n.Addr("https")
	s := curlLogin(t, https, alice, alicePW)
	before := rspamdLearned(t, r.ControllerAddr)
	if code, resp := curl(t, "-b", s.jar, "-d", "uid=1&action=spam&csrf="+url.QueryEscape(s.token), https+"/mail/act"); code != 303 {
		t.Fatalf("this is spam: %d\n%s", code, resp)
	}
	spam := waitLearned(t, n, r.ControllerAddr, before)
	if code, resp := curl(t, "-b", s.jar, "-d", "f=Junk&uid=1&action=notspam&csrf="+url.QueryEscape(s.token), https+"/mail/act"); code != 303 {
		t.Fatalf("not spam: %d\n%s", code, resp)
	}
	waitLearned(t, n, r.ControllerAddr, spam)
	// The node logs a lesson after rspamd has counted it: wait for the
	// line rather than read the log at once.
	for _, want := range []string{`msg="rspamd learned" account=alice@example.net lesson=/learnspam`, `msg="rspamd learned" account=alice@example.net lesson=/learnham`} {
		waitFor(t, "log line "+want, func() bool { return strings.Contains(n.Log(), want) })
	}
	got := imapPy(t, n, alice, alicePW, `
m = login()
print(d(m.select("INBOX")[1][0]), d(m.select("Junk")[1][0]))
`)
	if got != "1 0\n" {
		t.Errorf("INBOX and Junk over IMAP: %q, want the message back in INBOX", got)
	}
}

// TestWebmailChangesReachIdlingIMAPClient: a flag set and a delete done in
// the webmail are told at once to an IMAP client idling on the folder
// (RFC 9051 §7.5.2 FETCH, §7.5.1 EXPUNGE): one mailbox, one index.
func TestWebmailChangesReachIdlingIMAPClient(t *testing.T) {
	NeedTool(t, "curl")
	n := webNode(t, "")
	n.AddUser("taro@example.jp", "correct horse")
	n.Start()
	mxPy(t, n, "taro@example.jp", "From: a@remote.example\r\nTo: taro@example.jp\r\nSubject: watched\r\n\r\nx\r\n")
	n.WaitMaildir("taro@example.jp", 1)
	m := dialIMAPS(t, n.Addr("imaps"), "taro@example.jp", `"correct horse"`)
	if sel := strings.Join(m.cmd("SELECT INBOX"), "\n"); !strings.Contains(sel, "* 1 EXISTS") {
		t.Fatalf("SELECT: %s", sel)
	}
	fmt.Fprintf(m.c, "i1 IDLE\r\n")
	if l := m.line(); !strings.HasPrefix(l, "+ ") {
		t.Fatalf("IDLE: %q", l)
	}
	https := "https://" + n.Addr("https")
	s := curlLogin(t, https, "taro@example.jp", "correct horse")
	if code, _ := curl(t, "-b", s.jar, "-d", "uid=1&action=flag&csrf="+url.QueryEscape(s.token), https+"/mail/act"); code != 303 {
		t.Fatalf("flag: %d", code)
	}
	if l := m.line(); l != `* 1 FETCH (UID 1 FLAGS (\Flagged))` {
		t.Fatalf("idler got %q after the webmail flagged", l)
	}
	if code, _ := curl(t, "-b", s.jar, "-d", "uid=1&action=delete&csrf="+url.QueryEscape(s.token), https+"/mail/act"); code != 303 {
		t.Fatalf("delete: %d", code)
	}
	if l := m.line(); l != "* 1 EXPUNGE" {
		t.Fatalf("idler got %q after the webmail deleted", l)
	}
	fmt.Fprintf(m.c, "DONE\r\n")
	if l := m.line(); !strings.HasPrefix(l, "i1 OK") {
		t.Fatalf("DONE: %q", l)
	}
	if f := m.cmd(`STATUS Trash (MESSAGES)`); len(f) != 1 || f[0] != `* STATUS "Trash" (MESSAGES 1)` {
		t.Fatalf("Trash: %q", f)
	}
}
