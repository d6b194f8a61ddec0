package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestWebBrowserConsoleQuota: an operator sees an account's quota and
// Maildir usage on its console page (text and bar) and changes the quota
// there; the CLI reads the change back, and a bad size is refused on the
// page with the CLI's words.
func TestWebBrowserConsoleQuota(t *testing.T) {
	n := webNode(t, "[mailbox]\nquota = \"4MiB\"\n")
	n.AddUser("admin@example.jp", "operator password")
	n.AddUser("taro@example.jp", "correct horse")
	n.Start()
	putMaildirMessage(t, n, "taro@example.jp", "1.a.host", 1<<20)
	ctx := browser(t)
	https := "https://" + n.Addr("https")
	page := https + "/console/accounts/taro@example.jp"
	run(t, ctx, "log in as the operator",
		chromedp.Navigate(https+"/login?next=/console/accounts%3Fdomain%3Dexample.jp"),
		chromedp.SendKeys(`#user`, "admin@example.jp", chromedp.ByQuery),
		chromedp.SendKeys(`#password`, "operator password", chromedp.ByQuery),
		chromedp.Click(`#login`, chromedp.ByQuery),
		chromedp.WaitVisible(`#accounts`, chromedp.ByQuery),
		chromedp.Click(`a[href="/console/accounts/taro@example.jp"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#quota-text`, chromedp.ByQuery))
	var text, setting, bar, done, fail string
	var ok bool
	run(t, ctx, "read the quota",
		chromedp.Text(`#quota-text`, &text, chromedp.ByQuery),
		chromedp.Text(`#quota-setting`, &setting, chromedp.ByQuery),
		chromedp.AttributeValue(`#quota-bar`, "value", &bar, &ok, chromedp.ByQuery))
	if text != "1.0 MB of 4.0 MB used (25%)" || bar != "25" || !strings.Contains(setting, "4MiB — the node's default") {
		t.Errorf("console account page: %q, bar %q, setting %q", text, bar, setting)
	}
	shot(t, ctx, "console-account-quota")

	run(t, ctx, "set 2MiB",
		chromedp.SetValue(`#quota-input`, "2MiB", chromedp.ByQuery),
		chromedp.Click(`#quota-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#done`, chromedp.ByQuery),
		chromedp.Text(`#done`, &done, chromedp.ByQuery),
		chromedp.Text(`#quota-text`, &text, chromedp.ByQuery),
		chromedp.AttributeValue(`#quota-bar`, "value", &bar, &ok, chromedp.ByQuery))
	if done != "taro@example.jp: storage limit set to 2MiB" || text != "1.0 MB of 2.0 MB used (50%)" || bar != "50" {
		t.Errorf("after setting 2MiB: %q, %q, bar %q", done, text, bar)
	}
	if out := n.MustCLI("", "user", "quota", "taro@example.jp"); out != "taro@example.jp\tquota=2MiB (own) usage=1048576 octets, 1 messages\n" {
		t.Errorf("the CLI after the console: %q", out)
	}

	run(t, ctx, "a bad size",
		chromedp.Navigate(page),
		chromedp.SetValue(`#quota-input`, "lots", chromedp.ByQuery),
		chromedp.Click(`#quota-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#error`, chromedp.ByQuery),
		chromedp.Text(`#error`, &fail, chromedp.ByQuery))
	if !strings.Contains(fail, `size "lots": want a whole number of octets`) {
		t.Errorf("bad size: %q", fail)
	}
	n.MustCLI("", "user", "quota", "taro@example.jp", "unlimited")
	run(t, ctx, "unlimited", chromedp.Navigate(page), chromedp.Text(`#quota-text`, &text, chromedp.ByQuery), chromedp.Text(`#quota-setting`, &setting, chromedp.ByQuery))
	if text != "1.0 MB used (no limit)" || !strings.Contains(setting, "unlimited — this account's own setting") {
		t.Errorf("unlimited: %q, %q", text, setting)
	}
}

// TestWebBrowserMailQuota: the subscriber sees the usage of a Maildir of
// known size in webmail's folder pane and on the account page, in English
// and Japanese, and at 90 % or more a warning that says how to make room.
func TestWebBrowserMailQuota(t *testing.T) {
	n := webNode(t, "[mailbox]\nquota = \"1MiB\"\n")
	n.AddUser("taro@example.jp", "correct horse")
	n.Start()
	putMaildirMessage(t, n, "taro@example.jp", "1.a.host", 512<<10)
	ctx := browser(t)
	https := "https://" + n.Addr("https")
	run(t, ctx, "log in",
		chromedp.Navigate(https+"/login?next=/mail/"),
		chromedp.SendKeys(`#user`, "taro@example.jp", chromedp.ByQuery),
		chromedp.SendKeys(`#password`, "correct horse", chromedp.ByQuery),
		chromedp.Click(`#login`, chromedp.ByQuery),
		chromedp.WaitVisible(`#quota-text`, chromedp.ByQuery))
	read := func(url string) (text string, warned bool) {
		t.Helper()
		var nodes []string
		run(t, ctx, "load "+url, chromedp.Navigate(url), chromedp.Text(`#quota-text`, &text, chromedp.ByQuery),
			chromedp.Evaluate(`Array.from(document.querySelectorAll('#quota-warn')).map(e => e.innerText)`, &nodes))
		return text, len(nodes) > 0
	}
	if text, warned := read(https + "/mail/"); text != "512 KB of 1.0 MB used (50%)" || warned {
		t.Errorf("webmail at 50%%: %q, warning %v", text, warned)
	}
	if text, _ := read(https + "/mail/?lang=ja"); text != "使用量 512 KB / 1.0 MB (50%)" {
		t.Errorf("webmail in Japanese: %q", text)
	}
	if text, _ := read(https + "/account"); text != "512 KB of 1.0 MB used (50%)" {
		t.Errorf("account page: %q", text)
	}

	// 996148 octets: 95 % of 1 MiB (972.8 KiB, shown rounded up). The
	// message is put there behind the server's back, as another program
	// would; without its usage file the Maildir is counted again.
	putMaildirMessage(t, n, "taro@example.jp", "2.a.host", 996148-512<<10)
	if err := os.Remove(filepath.Join(n.Dir, "mail", "example.jp", "taro", "mailgate-quota")); err != nil {
		t.Fatal(err)
	}
	var warning string
	text, warned := read(https + "/mail/")
	run(t, ctx, "read the warning", chromedp.Text(`#quota-warn`, &warning, chromedp.ByQuery))
	if text != "973 KB of 1.0 MB used (95%)" || !warned ||
		warning != "Your mailbox is almost full (95%). Delete mail you no longer need and empty the Trash: once it is full, new mail cannot be delivered to you." {
		t.Errorf("webmail at 95%%: %q, warning %q", text, warning)
	}
	shot(t, ctx, "webmail-quota-warning")
	run(t, ctx, "the warning in Japanese", chromedp.Navigate(https+"/account?lang=ja"), chromedp.Text(`#quota-warn`, &warning, chromedp.ByQuery), chromedp.Text(`#quota-text`, &text, chromedp.ByQuery))
	if text != "使用量 973 KB / 1.0 MB (95%)" || !strings.Contains(warning, "不要なメールを削除し、「ごみ箱」を空にしてください") {
		t.Errorf("account page in Japanese: %q, warning %q", text, warning)
	}
	shot(t, ctx, "account-quota-warning-ja")
}
