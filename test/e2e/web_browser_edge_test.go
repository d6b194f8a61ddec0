package e2e

import (
	"strings"
	"testing"
	"time"

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

// TestWebBrowserConsoleEdgePolicy: the rest of the OP25B policy set in the
// console in chromium is what the CLI reads back: a relay (`edge relay
// list`; one with host bits refused on the page with the store's words),
// a carrier set (`edge carrier list`), a scope change at a date (`edge
// plan` lists it upcoming; the page's schedule too) and the action (`edge
// action`).
func TestWebBrowserConsoleEdgePolicy(t *testing.T) {
	n := webNode(t, "")
	n.AddUser("admin@example.jp", "operator password")
	n.Start()
	ctx := browser(t)
	https := "https://" + n.Addr("https")
	run(t, ctx, "log in as the operator",
		chromedp.Navigate(https+"/login?next=/console/edge"),
		chromedp.SendKeys(`#user`, "admin@example.jp", chromedp.ByQuery),
		chromedp.SendKeys(`#password`, "operator password", chromedp.ByQuery),
		chromedp.Click(`#login`, chromedp.ByQuery),
		chromedp.WaitVisible(`#addrelay`, chromedp.ByQuery))
	// submit fills one form on a fresh page and returns the flash message
	// shown after it (#done or #error).
	submit := func(what, form string, fill ...chromedp.Action) (done, fail string) {
		t.Helper()
		run(t, ctx, what, chromedp.Navigate(https+"/console/edge"), chromedp.WaitVisible(form, chromedp.ByQuery))
		run(t, ctx, what, fill...)
		run(t, ctx, what, chromedp.Click(form+" button", chromedp.ByQuery), chromedp.WaitVisible(`#done, #error`, chromedp.ByQuery))
		var nodes int
		run(t, ctx, what, chromedp.Evaluate(`document.querySelectorAll('#error').length`, &nodes))
		if nodes > 0 {
			run(t, ctx, what, chromedp.Text(`#error`, &fail, chromedp.ByQuery))
		} else {
			run(t, ctx, what, chromedp.Text(`#done`, &done, chromedp.ByQuery))
		}
		return done, fail
	}
	if _, fail := submit("a relay with host bits", "#addrelay", chromedp.SendKeys(`#relayprefixes`, "192.0.2.1/24", chromedp.ByQuery)); !strings.Contains(fail, "host bits set; write the network 192.0.2.0/24") {
		t.Errorf("host bits: error %q", fail)
	}
	if done, _ := submit("add a relay", "#addrelay", chromedp.SendKeys(`#relayprefixes`, "192.0.2.25", chromedp.ByQuery)); done != "relays added: 192.0.2.25" {
		t.Errorf("add relay: %q", done)
	}
	if out := n.MustCLI("", "edge", "relay", "list"); out != "PREFIX\n192.0.2.25/32\n" {
		t.Errorf("edge relay list after the console's add:\n%s", out)
	}
	if done, _ := submit("add a carrier", "#addcarrier",
		chromedp.SendKeys(`#carriername`, "docomo", chromedp.ByQuery),
		chromedp.SendKeys(`#carrierentries`, "198.51.100.0/24 docomo.ne.jp", chromedp.ByQuery)); !strings.HasPrefix(done, "carrier docomo: added") {
		t.Errorf("add carrier: %q", done)
	}
	if out := strings.Join(strings.Fields(n.MustCLI("", "edge", "carrier", "list")), " "); !strings.Contains(out, "docomo prefix 198.51.100.0/24") || !strings.Contains(out, "docomo domain docomo.ne.jp") {
		t.Errorf("edge carrier list after the console's add:\n%s", out)
	}
	from := time.Date(2099, 4, 1, 9, 0, 0, 0, time.Local) // the node reads it in its zone, the test's
	if done, _ := submit("a dated scope", "#setscope",
		chromedp.SetValue(`#scopevalue`, "carriers", chromedp.ByQuery),
		chromedp.SendKeys(`#scopefrom`, "2099-04-01 09:00", chromedp.ByQuery)); !strings.Contains(done, "carrier sets only (phase 1) from 2099-04-01 09:00") {
		t.Errorf("dated scope: %q", done)
	}
	var timeline string
	run(t, ctx, "read the schedule", chromedp.Text(`#timeline`, &timeline, chromedp.ByQuery))
	if !strings.Contains(timeline, "carrier sets only (phase 1)") || !strings.Contains(timeline, "upcoming") {
		t.Errorf("the page's schedule:\n%s", timeline)
	}
	if done, _ := submit("drop blocked attempts", "#setaction", chromedp.Click(`#action-drop`, chromedp.ByQuery)); done != "action drop" {
		t.Errorf("action: %q", done)
	}
	shot(t, ctx, "console-edge-policy")
	plan := n.MustCLI("", "edge", "plan")
	if !strings.Contains(plan, "scope all (phase 2), action drop") || !strings.Contains(plan, from.Format(time.RFC3339)+"  carriers phase 1  [upcoming]") {
		t.Errorf("edge plan after the console's changes:\n%s", plan)
	}
	if out := n.MustCLI("", "edge", "action"); strings.TrimSpace(out) != "action drop" {
		t.Errorf("edge action: %q", out)
	}
}
