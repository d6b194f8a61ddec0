package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestWebmailConversationsBrowser: four messages through the real MX, two
// of them one conversation (In-Reply-To only). In chromium the list's
// conversations toggle shows three rows, newest first, the conversation
// with its size and unread count; on a phone the sort bar sorts the
// messages and the conversations by date both ways; on a desktop the
// column headers sort them by sender and by date both ways; the search box keeps the conversations with a
// matching message and counts the matches; opening one reads its newest
// message; IMAP UID THREAD over imaplib gives the same grouping (one
// threading for both).
func TestWebmailConversationsBrowser(t *testing.T) {
	n := webNode(t, "")
	n.AddUser("taro@example.jp", "correct horse")
	n.Start()
	for i, m := range []string{
		"From: a@remote.example\r\nTo: taro@example.jp\r\nMessage-ID: <p1@remote.example>\r\nSubject: plan\r\nDate: Mon, 2 Mar 2026 10:00:00 +0000\r\n\r\nfirst\r\n",
		"From: b@remote.example\r\nTo: taro@example.jp\r\nMessage-ID: <o1@remote.example>\r\nSubject: other\r\nDate: Mon, 2 Mar 2026 11:00:00 +0000\r\n\r\nother\r\n",
		"From: c@remote.example\r\nTo: taro@example.jp\r\nMessage-ID: <p2@remote.example>\r\nIn-Reply-To: <p1@remote.example>\r\nSubject: Re: plan\r\nDate: Mon, 2 Mar 2026 12:00:00 +0000\r\n\r\nsecond\r\n",
		"From: aki@remote.example\r\nTo: taro@example.jp\r\nMessage-ID: <z1@remote.example>\r\nSubject: zebra\r\nDate: Mon, 2 Mar 2026 13:00:00 +0000\r\n\r\nzebra\r\n",
	} {
		mxPy(t, n, "taro@example.jp", m)
		n.WaitMaildir("taro@example.jp", i+1)
	}

	ctx := browser(t)
	https := "https://" + n.Addr("https")
	browserLogin(t, ctx, https, "taro@example.jp", "correct horse", "/mail/", "#messages")
	// rows reads the list after the action leads to the next page (the
	// page before is marked, so its list does not count).
	rows := func(what string, action chromedp.Action) (string, string) {
		t.Helper()
		var rows []string
		var pager string
		run(t, ctx, what,
			chromedp.Evaluate(`document.body.dataset.stale = "1"`, nil),
			action,
			chromedp.WaitVisible(`body:not([data-stale]) #messages`, chromedp.ByQuery),
			chromedp.Evaluate(`[...document.querySelectorAll("#messages tbody tr")].map(r => r.dataset.uid + " " + r.className + " " + r.querySelector("td.subject").innerText.replace(/\s+/g, " "))`, &rows),
			chromedp.Text(`#pager`, &pager, chromedp.ByQuery))
		return strings.Join(rows, "\n"), pager
	}
	click := func(sel string) chromedp.Action { return chromedp.Click(sel, chromedp.ByQuery) }
	// On a phone (the browser's window) the list hides the date column
	// and its header; the sort bar above the list sorts by date instead,
	// both ways, saying which way it is, for single messages and for
	// conversations.
	phoneByDate := func(view string, newest, oldest string) {
		t.Helper()
		var shown, order string
		run(t, ctx, view+": the phone's sort bar",
			chromedp.Evaluate(`getComputedStyle(document.querySelector("#sortbar")).display + " " + getComputedStyle(document.querySelector("#sort-date").closest("th")).display`, &shown))
		if shown != "flex none" {
			t.Errorf("%s on a phone: sort bar and date column display %q, want flex none", view, shown)
		}
		for _, c := range []struct{ step, want, order string }{
			{"oldest first", oldest, "Date ↑ oldest first"},
			{"newest first", newest, "Date ↓ newest first"},
		} {
			got, _ := rows(view+" on a phone, by date, "+c.step, click(`#order-date`))
			run(t, ctx, "the sort bar's order", chromedp.Text(`#order-date`, &order, chromedp.ByQuery))
			if got != c.want || order != c.order {
				t.Errorf("%s on a phone, by date, %s (the bar says %q):\n%s\nwant:\n%s", view, c.step, order, got, c.want)
			}
		}
	}
	phoneByDate("messages", "4 unseen zebra\n3 unseen Re: plan\n2 unseen other\n1 unseen plan",
		"1 unseen plan\n2 unseen other\n3 unseen Re: plan\n4 unseen zebra")
	shot(t, ctx, "mail-list-phone-sorted")
	got, pager := rows("conversations", click(`#conv-toggle`))
	if want := "4 unseen zebra\n3 unseen Re: plan 2 2 unread\n2 unseen other"; got != want {
		t.Errorf("conversation rows:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(pager, "Page 1 of 1 (3 conversations)") {
		t.Errorf("pager %q", pager)
	}
	shot(t, ctx, "mail-conversations")
	phoneByDate("conversations", "4 unseen zebra\n3 unseen Re: plan 2 2 unread\n2 unseen other",
		"2 unseen other\n3 unseen Re: plan 2 2 unread\n4 unseen zebra")

	// Sorting: by the newest message's sender (aki, c, b), both ways;
	// by date, newest conversation first, then oldest first. On a
	// desktop screen: a phone's list hides the date column.
	var bar string
	run(t, ctx, "desktop", chromedp.EmulateViewport(1280, 800),
		chromedp.Evaluate(`getComputedStyle(document.querySelector("#sortbar")).display`, &bar))
	if bar != "none" {
		t.Errorf("desktop: the sort bar's display is %q, want none (the column headers sort)", bar)
	}
	for _, c := range []struct{ step, link, want string }{
		{"by sender", "#sort-from", "4 unseen zebra\n2 unseen other\n3 unseen Re: plan 2 2 unread"},
		{"by sender, Z-A", "#sort-from", "3 unseen Re: plan 2 2 unread\n2 unseen other\n4 unseen zebra"},
		{"by date", "#sort-date", "4 unseen zebra\n3 unseen Re: plan 2 2 unread\n2 unseen other"},
		{"by date, oldest first", "#sort-date", "2 unseen other\n3 unseen Re: plan 2 2 unread\n4 unseen zebra"},
	} {
		if got, _ := rows("conversations "+c.step, click(c.link)); got != c.want {
			t.Errorf("conversations %s:\n%s\nwant:\n%s", c.step, got, c.want)
		}
	}
	// Searching from the box stays in conversations: a@ wrote only the
	// first "plan" message, which keeps its conversation (shown by its
	// newest message) with its one match; "remote" matches all four,
	// and sorting by sender keeps the search.
	got, pager = rows("search a@", chromedp.SendKeys(`#q`, "a@remote\n", chromedp.ByQuery))
	if want := "3 unseen Re: plan 2 2 unread 1 matching"; got != want {
		t.Errorf("conversations matching a@remote:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(pager, "Page 1 of 1 (1 conversations)") {
		t.Errorf("search pager %q", pager)
	}
	shot(t, ctx, "mail-conversations-search")
	run(t, ctx, "clear the search box", chromedp.Evaluate(`document.querySelector("#q").value = ""`, nil))
	rows("search remote", chromedp.SendKeys(`#q`, "remote\n", chromedp.ByQuery))
	got, _ = rows("search remote by sender", click(`#sort-from`))
	if want := "4 unseen zebra\n2 unseen other\n3 unseen Re: plan 2 2 unread 2 matching"; got != want {
		t.Errorf("conversations matching remote, by sender:\n%s\nwant:\n%s", got, want)
	}
	run(t, ctx, "back to all conversations", chromedp.Navigate(https+"/mail/?conv=1"), chromedp.WaitVisible(`#messages`, chromedp.ByQuery))
	var subject string
	run(t, ctx, "open the conversation",
		chromedp.Click(`#messages tr[data-uid="3"] td.subject a`, chromedp.ByQuery),
		chromedp.WaitVisible(`#subject`, chromedp.ByQuery),
		chromedp.Text(`#subject`, &subject, chromedp.ByQuery))
	if subject != "Re: plan" {
		t.Errorf("the conversation opened %q, want its newest message", subject)
	}

	got = imapPy(t, n, "taro@example.jp", "correct horse", `
m = login()
m.select("INBOX")
print(d(m.uid("THREAD", "REFERENCES", "UTF-8", "ALL"))[1][0])
m.logout()
`)
	if got != "(1 3)(2)(4)\n" {
		t.Errorf("UID THREAD: %q", got)
	}
}
