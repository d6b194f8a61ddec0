package e2e

import (
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
