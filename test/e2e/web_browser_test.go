package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// screenshotDir is where the browser test leaves its screenshots (the
// README names it; git ignores its contents).
const screenshotDir = "screenshots"

// browser starts Debian's chromium headless with a fresh profile, trusting
// the node's self-signed certificate, and returns a chromedp context.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		MissingPeer(t, "chromium not installed (make test installs it)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("ignore-certificate-errors", true),
		chromedp.Flag("lang", "en-US"), chromedp.WindowSize(420, 900), // a phone-sized window
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var png []byte
	run(t, ctx, "screenshot "+name, chromedp.FullScreenshot(&png, 100))
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(screenshotDir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitText reloads url until the element sel contains want (the self-check
// reads the edge policy again within seconds of a change).
func waitText(t *testing.T, ctx context.Context, url, sel, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var got string
	for {
		run(t, ctx, "load "+url, chromedp.Navigate(url), chromedp.Text(sel, &got, chromedp.ByQuery))
		if strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s says %q, want %q", url, sel, got, want)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestWebBrowser drives the real server in chromium: the self-check for a
// dynamic, an exempted and a fixed address (the visitor is 127.0.0.1),
// the questions, a live probe of the node's own submission ports, a
// login and a password change, CSRF refused, no account page without
// login.
func TestWebBrowser(t *testing.T) {
	// Remote mail goes to a smarthost that refuses: it stays queued.
	n := webNode(t, fmt.Sprintf("[delivery]\nsmarthost = \"127.0.0.1:%d\"\n", FreePort(t)))
	n.AddUser("taro@example.jp", "correct horse")
	n.AddUser("admin@example.jp", "operator password")
	n.MustCLI("", "pool", "add", "lo-dyn", "--kind", "dynamic", "127.0.0.0/8")
	n.Start()
	ctx := browser(t)
	http, https := "http://"+n.Addr("http"), "https://"+n.Addr("https")

	// Dynamic, then the questions: another provider's server on port 25.
	waitText(t, ctx, http+"/check", "#pool-text", "dynamic pool (lo-dyn)")
	run(t, ctx, "answer the questions",
		chromedp.Click(`input[name=server][value=other]`, chromedp.ByQuery),
		chromedp.Click(`input[name=port][value="25"]`, chromedp.ByQuery),
		chromedp.Click(`#ask`, chromedp.ByQuery),
		chromedp.WaitVisible(`#advice`, chromedp.ByQuery))
	var advice string
	run(t, ctx, "read the advice", chromedp.Text(`#advice`, &advice, chromedp.ByQuery))
	if !strings.Contains(advice, "will not get through") || !strings.Contains(advice, "gw.example.jp") || !strings.Contains(advice, "587") {
		t.Errorf("advice for other/25 from a dynamic address:\n%s", advice)
	}
	shot(t, ctx, "check-dynamic")

	// The live probe of the node's own ports (allowed by probe_allow).
	run(t, ctx, "probe",
		chromedp.SendKeys(`#host`, "127.0.0.1", chromedp.ByQuery),
		chromedp.Click(`#probe`, chromedp.ByQuery),
		chromedp.WaitVisible(`#probe-result`, chromedp.ByQuery))
	var probe string
	run(t, ctx, "read the probe", chromedp.Text(`#probe-result`, &probe, chromedp.ByQuery))
	if !strings.Contains(probe, "STARTTLS offered") || !strings.Contains(probe, "SMTP AUTH offered") || !strings.Contains(probe, "takes submissions on 587") {
		t.Errorf("probe of the node's submission port:\n%s", probe)
	}
	shot(t, ctx, "check-probe")

	// Exempted, then fixed.
	n.MustCLI("", "edge", "exempt", "add", "127.0.0.1/32", "--reason", "browser test")
	waitText(t, ctx, http+"/check", "#pool-text", "exempted on request")
	shot(t, ctx, "check-exempted")
	n.MustCLI("", "edge", "exempt", "remove", "127.0.0.1/32")
	n.MustCLI("", "pool", "add", "lo-fixed", "--kind", "static", "127.0.0.1/32")
	waitText(t, ctx, http+"/check", "#pool-text", "fixed-IP pool (lo-fixed)")
	shot(t, ctx, "check-fixed")

	// Japanese by ?lang (the browser asks for English).
	waitText(t, ctx, http+"/check?lang=ja", "h1", "OP25B の影響を受けますか")
	shot(t, ctx, "check-ja")
	run(t, ctx, "guide", chromedp.Navigate(http+"/guides/outlook"), chromedp.WaitVisible(`#settings`, chromedp.ByQuery))
	shot(t, ctx, "guide-outlook")

	// No account page without login: the browser ends on the login form.
	var loc string
	run(t, ctx, "account without login", chromedp.Navigate(https+"/account"), chromedp.WaitVisible(`#login`, chromedp.ByQuery), chromedp.Location(&loc))
	if !strings.Contains(loc, "/login") {
		t.Errorf("/account without login ended at %s", loc)
	}
	shot(t, ctx, "login")

	// CSRF: the same form with its token altered is refused.
	var errText string
	run(t, ctx, "login with a forged token",
		chromedp.SetValue(`input[name=csrf]`, "forged-forged-forged-forged-forged-forged", chromedp.ByQuery),
		chromedp.SendKeys(`#user`, "taro@example.jp", chromedp.ByQuery),
		chromedp.SendKeys(`#password`, "correct horse", chromedp.ByQuery),
		chromedp.Click(`#login`, chromedp.ByQuery),
		chromedp.WaitVisible(`#error`, chromedp.ByQuery),
		chromedp.Text(`#error`, &errText, chromedp.ByQuery))
	if !strings.Contains(errText, "came from another site") {
		t.Errorf("forged CSRF token: %q", errText)
	}
	shot(t, ctx, "csrf-refused")

	// Log in, change the password.
	run(t, ctx, "login",
		chromedp.Navigate(https+"/login"),
		chromedp.SendKeys(`#user`, "taro@example.jp", chromedp.ByQuery),
		chromedp.SendKeys(`#password`, "correct horse", chromedp.ByQuery),
		chromedp.Click(`#login`, chromedp.ByQuery),
		chromedp.WaitVisible(`#address`, chromedp.ByQuery))
	shot(t, ctx, "account")
	var done string
	run(t, ctx, "change password",
		chromedp.SendKeys(`#current`, "correct horse", chromedp.ByQuery),
		chromedp.SendKeys(`#new`, "battery staple", chromedp.ByQuery),
		chromedp.SendKeys(`#again`, "battery staple", chromedp.ByQuery),
		chromedp.Click(`#change`, chromedp.ByQuery),
		chromedp.WaitVisible(`#done`, chromedp.ByQuery),
		chromedp.Text(`#done`, &done, chromedp.ByQuery))
	if !strings.Contains(done, "Password changed") {
		t.Errorf("password change: %q", done)
	}
	shot(t, ctx, "account-password-changed")
	// The new password is the mail services' password too (one check for
	// all): IMAP takes the new one and refuses the old.
	imap := func(pw string) error {
		return exec.Command("curl", "-sS", "-k", "--max-time", "20", "--url", "imaps://"+n.Addr("imaps")+"/", "--user", "taro@example.jp:"+pw).Run()
	}
	if err := imap("battery staple"); err != nil {
		t.Errorf("IMAP login with the new password: %v", err)
	}
	if err := imap("correct horse"); err == nil {
		t.Error("IMAP login with the old password succeeded")
	}

	// A message for a remote recipient waits in the queue; a subscriber
	// cannot reach the console, an operator holds the message there.
	msgFile := filepath.Join(t.TempDir(), "msg.eml")
	os.WriteFile(msgFile, []byte("From: taro@example.jp\r\nTo: carol@remote.example\r\nSubject: queued\r\n\r\nhello\r\n"), 0o600)
	if out, err := exec.Command("curl", "-sS", "-k", "--ssl-reqd", "smtp://"+n.Addr("submission")+"/client.test", "--mail-from", "taro@example.jp",
		"--mail-rcpt", "carol@remote.example", "--user", "taro@example.jp:battery staple", "--upload-file", msgFile).CombinedOutput(); err != nil {
		t.Fatalf("curl submission: %v\n%s", err, out)
	}
	var id string
	deadline := time.Now().Add(20 * time.Second)
	for id == "" {
		if m := regexp.MustCompile(`(?m)^(\S+)\s+\d+\s.*carol@remote\.example\s+[1-9]`).FindStringSubmatch(n.MustCLI("", "queue", "list")); m != nil {
			id = m[1]
		} else if time.Now().After(deadline) {
			t.Fatal("the message never showed in the queue with a failed attempt")
		} else {
			time.Sleep(100 * time.Millisecond)
		}
	}
	var status string
	run(t, ctx, "console as a subscriber", chromedp.Navigate(https+"/console/queue"), chromedp.WaitVisible(`#error`, chromedp.ByQuery),
		chromedp.Text(`#error`, &status, chromedp.ByQuery))
	if !strings.Contains(status, "operators only") {
		t.Errorf("a subscriber in the console: %q", status)
	}
	run(t, ctx, "log out and in as the operator",
		chromedp.Navigate(https+"/account"), chromedp.Click(`button.link`, chromedp.ByQuery), chromedp.WaitVisible(`a[href^="/login"]`, chromedp.ByQuery),
		chromedp.Navigate(https+"/login?next=/console/queue"),
		chromedp.SendKeys(`#user`, "admin@example.jp", chromedp.ByQuery),
		chromedp.SendKeys(`#password`, "operator password", chromedp.ByQuery),
		chromedp.Click(`#login`, chromedp.ByQuery),
		chromedp.WaitVisible(`#msg-`+id, chromedp.ByQuery))
	shot(t, ctx, "console-queue")
	run(t, ctx, "hold the message",
		chromedp.Click(`#msg-`+id+` button[value=hold]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#msg-`+id+` .held`, chromedp.ByQuery))
	shot(t, ctx, "console-queue-held")
	if show := n.MustCLI("", "queue", "show", id); !strings.Contains(show, "held: true") {
		t.Errorf("queue show after the console's hold:\n%s", show)
	}
	run(t, ctx, "console home", chromedp.Navigate(https+"/console"), chromedp.WaitVisible(`#queued`, chromedp.ByQuery))
	shot(t, ctx, "console")
}
