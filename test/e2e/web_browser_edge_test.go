package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestWebBrowserConsolePool: an operator adds a dynamic pool in the
// console in chromium; `pool list` shows it, and the self-check (the
// visitor is 127.0.0.1) then finds the visitor in it; removing it in the
// console empties `pool list` again. Then a DKIM key generated on the
// domain's page is the one `dkim list` shows.
func TestWebBrowserConsolePool(t *testing.T) {
	n := webNode(t, "[publish]\noutbound_ips = [\"192.0.2.25\"]\n")
	n.AddUser("admin@example.jp", "operator password")
	n.Start()
	ctx := browser(t)
	http, https := "http://"+n.Addr("http"), "https://"+n.Addr("https")
	run(t, ctx, "log in as the operator",
		chromedp.Navigate(https+"/login?next=/console/edge"),
		chromedp.SendKeys(`#user`, "admin@example.jp", chromedp.ByQuery),
		chromedp.SendKeys(`#password`, "operator password", chromedp.ByQuery),
		chromedp.Click(`#login`, chromedp.ByQuery),
		chromedp.WaitVisible(`#addpool`, chromedp.ByQuery))
	var done string
	run(t, ctx, "add a pool",
		chromedp.SendKeys(`#poolname`, "lo-dyn", chromedp.ByQuery),
		chromedp.SendKeys(`#poolprefixes`, "127.0.0.0/8 ::1", chromedp.ByQuery),
		chromedp.Click(`#addpool button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#done`, chromedp.ByQuery),
		chromedp.Text(`#done`, &done, chromedp.ByQuery))
	if !strings.Contains(done, "2 prefixes added") {
		t.Errorf("after adding: %q", done)
	}
	shot(t, ctx, "console-edge")
	if out := n.MustCLI("", "pool", "list"); !strings.Contains(out, "lo-dyn") || !strings.Contains(out, "dynamic") {
		t.Errorf("pool list after the console's add:\n%s", out)
	}
	waitText(t, ctx, http+"/check", "#pool-text", "dynamic pool (lo-dyn)")
	run(t, ctx, "remove the pool",
		chromedp.Navigate(https+"/console/edge"),
		chromedp.Click(`#pool-lo-dyn td:first-child button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#done`, chromedp.ByQuery),
		chromedp.Text(`#done`, &done, chromedp.ByQuery))
	if out := n.MustCLI("", "pool", "list"); done != "pool lo-dyn removed" || strings.Contains(out, "lo-dyn") {
		t.Errorf("after removing (%q), pool list:\n%s", done, out)
	}
	run(t, ctx, "generate a DKIM key",
		chromedp.Navigate(https+"/console/dkim?domain=example.jp"),
		chromedp.SendKeys(`#selector`, "web1", chromedp.ByQuery),
		chromedp.Click(`#keygen button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#key-web1`, chromedp.ByQuery))
	shot(t, ctx, "console-dkim")
	if out := n.MustCLI("", "dkim", "list", "example.jp"); !strings.Contains(out, "web1") || !strings.Contains(out, "yes") {
		t.Errorf("dkim list after the console's keygen:\n%s", out)
	}
}
