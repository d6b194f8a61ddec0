package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestWebmailConversationsBrowser: three messages through the real MX, two
// of them one conversation (In-Reply-To only). In chromium the list's
// conversations toggle shows two rows, the conversation first with its
// size and unread count, and opening it reads its newest message; IMAP
// UID THREAD over imaplib gives the same grouping (one threading for
// both).
func TestWebmailConversationsBrowser(t *testing.T) {
	n := webNode(t, "")
	n.AddUser("taro@example.jp", "correct horse")
	n.Start()
	for i, m := range []string{
		"From: a@remote.example\r\nTo: taro@example.jp\r\nMessage-ID: <p1@remote.example>\r\nSubject: plan\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\n\r\nfirst\r\n",
		"From: b@remote.example\r\nTo: taro@example.jp\r\nMessage-ID: <o1@remote.example>\r\nSubject: other\r\nDate: Mon, 2 Mar 2026 11:00:00 +0000\r\n\r\nother\r\n",
		"From: c@remote.example\r\nTo: taro@example.jp\r\nMessage-ID: <p2@remote.example>\r\nIn-Reply-To: <p1@remote.example>\r\nSubject: Re: plan\r\nDate: Mon, 2 Mar 2026 12:00:00 +0000\r\n\r\nsecond\r\n",
	} {
		mxPy(t, n, "taro@example.jp", m)
		n.WaitMaildir("taro@example.jp", i+1)
	}

	ctx := browser(t)
	https := "https://" + n.Addr("https")
	browserLogin(t, ctx, https, "taro@example.jp", "correct horse", "/mail/", "#messages")
	var rows []string
	var pager string
	run(t, ctx, "conversations",
		chromedp.Click(`#conv-toggle`, chromedp.ByQuery),
		chromedp.WaitVisible(`#messages td .count`, chromedp.ByQuery),
		chromedp.Evaluate(`[...document.querySelectorAll("#messages tbody tr")].map(r => r.dataset.uid + " " + r.className + " " + r.querySelector("td.subject").innerText.replace(/\s+/g, " "))`, &rows),
		chromedp.Text(`#pager`, &pager, chromedp.ByQuery))
	if got, want := strings.Join(rows, "\n"), "3 unseen Re: plan 2 2 unread\n2 unseen other"; got != want {
		t.Errorf("conversation rows:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(pager, "Page 1 of 1 (2 conversations)") {
		t.Errorf("pager %q", pager)
	}
	shot(t, ctx, "mail-conversations")
	var subject string
	run(t, ctx, "open the conversation",
		chromedp.Click(`#messages td.subject a`, chromedp.ByQuery),
		chromedp.WaitVisible(`#subject`, chromedp.ByQuery),
		chromedp.Text(`#subject`, &subject, chromedp.ByQuery))
	if subject != "Re: plan" {
		t.Errorf("the conversation opened %q, want its newest message", subject)
	}

	got := imapPy(t, n, "taro@example.jp", "correct horse", `
m = login()
m.select("INBOX")
print(d(m.uid("THREAD", "REFERENCES", "UTF-8", "ALL"))[1][0])
m.logout()
`)
	if got != "(1 3)(2)\n" {
		t.Errorf("UID THREAD: %q", got)
	}
}
