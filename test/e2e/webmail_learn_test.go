package e2e

import (
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
	log := n.Log()
	for _, want := range []string{`msg="rspamd learned" account=alice@example.net lesson=/learnspam`, `msg="rspamd learned" account=alice@example.net lesson=/learnham`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
	got := imapPy(t, n, alice, alicePW, `
m = login()
print(d(m.select("INBOX")[1][0]), d(m.select("Junk")[1][0]))
`)
	if got != "1 0\n" {
		t.Errorf("INBOX and Junk over IMAP: %q, want the message back in INBOX", got)
	}
}
