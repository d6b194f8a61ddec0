package e2e

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// beacon is a loopback HTTP server that records every path asked of it:
// a message's remote image, or a script of the message that ran, would
// show up here.
type beacon struct {
	mu    sync.Mutex
	paths []string
	srv   *httptest.Server
}

func newBeacon(t *testing.T) *beacon {
	b := &beacon{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.paths = append(b.paths, r.URL.Path)
		b.mu.Unlock()
		w.Header().Set("Content-Type", "image/gif")
		w.Write([]byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"))
	}))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *beacon) seen() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.paths...)
}

// hostileHTML carries a script, an onerror handler and a remote image;
// each would call the beacon if it ran or loaded.
func hostileHTML(beaconURL string) string {
	return "From: Mallory <mallory@remote.example>\r\nTo: taro@example.jp\r\nSubject: html with tricks\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/html; charset=utf-8\r\n\r\n" +
		"<html><body><h2 id=\"greeting\">Hello from HTML</h2>\r\n" +
		"<script>fetch('" + beaconURL + "/script-ran');document.title='PWNED'</script>\r\n" +
		"<img src=\"x-broken\" onerror=\"fetch('" + beaconURL + "/onerror-ran')\">\r\n" +
		"<img src=\"" + beaconURL + "/remote-image.gif\" alt=\"tracker\">\r\n" +
		"<p style=\"color:#a11\">styled text stays</p></body></html>\r\n"
}

// ISO-2022-JP as iconv writes it: subject 件名テスト, body 日本語のメール.
const isoJPMessage = "From: =?ISO-2022-JP?B?GyRCJTUlcyVXJWsbKEI=?= <sample@remote.example>\r\nTo: taro@example.jp\r\n" +
	"Subject: =?ISO-2022-JP?B?GyRCN29MPiVGJTklSBsoQg==?=\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" +
	"\x1b$BF|K\\8l$N%a!<%k\x1b(B\r\n"

// TestWebmailBrowser reads mail in chromium: log in, a plain message, an
// HTML message whose script, onerror handler and remote image never run
// or load (the loopback beacon hears nothing until "show images", and
// then only the image), an ISO-2022-JP message in Japanese; then flag,
// a new folder, move, spam and delete from the browser, each checked
// over IMAP with Python's imaplib.
func TestWebmailBrowser(t *testing.T) {
	n := webNode(t, "")
	n.AddUser("taro@example.jp", "correct horse")
	n.Start()
	b := newBeacon(t)
	mxPy(t, n, "taro@example.jp", "From: Hanako <hanako@remote.example>\r\nTo: taro@example.jp\r\nSubject: plain hello\r\n\r\nJust plain text.\r\nSecond line.\r\n")
	n.WaitMaildir("taro@example.jp", 1)
	mxPy(t, n, "taro@example.jp", hostileHTML(b.srv.URL))
	n.WaitMaildir("taro@example.jp", 2)
	mxPy(t, n, "taro@example.jp", isoJPMessage)
	n.WaitMaildir("taro@example.jp", 3)

	ctx := browser(t)
	https := "https://" + n.Addr("https")
	run(t, ctx, "login to the mail",
		chromedp.Navigate(https+"/login?next=/mail/"),
		chromedp.SendKeys(`#user`, "taro@example.jp", chromedp.ByQuery),
		chromedp.SendKeys(`#password`, "correct horse", chromedp.ByQuery),
		chromedp.Click(`#login`, chromedp.ByQuery),
		chromedp.WaitVisible(`#messages`, chromedp.ByQuery))
	var list string
	run(t, ctx, "read the list", chromedp.Text(`#messages`, &list, chromedp.ByQuery))
	for _, want := range []string{"plain hello", "html with tricks", "件名テスト", "サンプル", "Hanako"} {
		if !strings.Contains(list, want) {
			t.Errorf("list lacks %q:\n%s", want, list)
		}
	}
	shot(t, ctx, "mail-list")

	// Keyboard: the list starts on the newest message; j moves down,
	// Enter opens, u goes back (our own script, allowed by the CSP).
	var kbSubject string
	// Each page's script (mail.js) loads after the page shows: keys are
	// pressed once it has marked the page (data-shortcuts), or they would
	// be lost now and then on a busy machine (seen in a full run).
	shortcuts := chromedp.WaitReady(`html[data-shortcuts="on"]`, chromedp.ByQuery)
	run(t, ctx, "keyboard: j, Enter", shortcuts,
		chromedp.KeyEvent("j"), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(`#subject`, chromedp.ByQuery),
		chromedp.Text(`#subject`, &kbSubject, chromedp.ByQuery))
	if kbSubject != "html with tricks" {
		t.Errorf("j then Enter opened %q, want the second newest", kbSubject)
	}
	run(t, ctx, "keyboard: u", shortcuts, chromedp.KeyEvent("u"), chromedp.WaitVisible(`#messages`, chromedp.ByQuery))

	// The plain message.
	var text string
	run(t, ctx, "open the plain message",
		chromedp.Click(`//a[contains(., "plain hello")]`, chromedp.BySearch),
		chromedp.WaitVisible(`#mailtext`, chromedp.ByQuery),
		chromedp.Text(`#mailtext`, &text, chromedp.ByQuery))
	if !strings.Contains(text, "Just plain text.\nSecond line.") {
		t.Errorf("plain body %q", text)
	}

	// The ISO-2022-JP message.
	var subject string
	run(t, ctx, "open the Japanese message",
		chromedp.Click(`#back`, chromedp.ByQuery),
		chromedp.WaitVisible(`#messages`, chromedp.ByQuery),
		chromedp.Click(`//a[contains(., "件名テスト")]`, chromedp.BySearch),
		chromedp.WaitVisible(`#mailtext`, chromedp.ByQuery),
		chromedp.Text(`#subject`, &subject, chromedp.ByQuery),
		chromedp.Text(`#mailtext`, &text, chromedp.ByQuery))
	if subject != "件名テスト" || strings.TrimSpace(text) != "日本語のメール" {
		t.Errorf("ISO-2022-JP message: subject %q body %q", subject, text)
	}
	shot(t, ctx, "mail-read-japanese")

	// The HTML message: shown in the sandboxed frame, nothing runs,
	// nothing is fetched.
	var title, frameSrc string
	var ok bool
	run(t, ctx, "open the HTML message",
		chromedp.Click(`#back`, chromedp.ByQuery),
		chromedp.WaitVisible(`#messages`, chromedp.ByQuery),
		chromedp.Click(`//a[contains(., "html with tricks")]`, chromedp.BySearch),
		chromedp.WaitVisible(`#mailbody`, chromedp.ByQuery),
		chromedp.AttributeValue(`#mailbody`, "src", &frameSrc, &ok, chromedp.ByQuery),
		chromedp.Title(&title))
	// The frame's document opened alone in another tab (its sandbox CSP
	// holds there too, so no script of ours can look inside: the DOM is
	// read through DevTools). It shows the text, and would have run its
	// script by the time it is loaded, were there one.
	var frameHTML string
	run(t, ctx, "open the frame's document",
		chromedp.Navigate(https+frameSrc),
		chromedp.WaitReady(`#greeting`, chromedp.ByQuery),
		chromedp.OuterHTML(`body`, &frameHTML, chromedp.ByQuery))
	if !strings.Contains(frameHTML, "Hello from HTML") || !strings.Contains(frameHTML, "styled text stays") || strings.Contains(frameHTML, "<script") {
		t.Errorf("frame document %q", frameHTML)
	}
	if title == "PWNED" {
		t.Error("the message's script ran in the page")
	}
	if got := b.seen(); len(got) != 0 {
		t.Errorf("the beacon was called before images were asked for: %v", got)
	}
	// "Show images": now (and only now) the remote image loads — the
	// beacon can hear, so its silence above meant something.
	run(t, ctx, "show images",
		chromedp.Navigate(https+"/mail/msg?uid=2"),
		chromedp.WaitVisible(`#mailbody`, chromedp.ByQuery))
	shot(t, ctx, "mail-read-html")
	run(t, ctx, "show images", chromedp.Click(`#show-images`, chromedp.ByQuery))
	waitFor(t, "the remote image to load", func() bool { return len(b.seen()) > 0 })
	run(t, ctx, "reload the frame with images", chromedp.Navigate(https+frameSrc+"&images=1"), chromedp.WaitReady(`#greeting`, chromedp.ByQuery))
	run(t, ctx, "back to the message", chromedp.Navigate(https+"/mail/msg?uid=2"), chromedp.WaitVisible(`#mailbody`, chromedp.ByQuery))
	for _, p := range b.seen() {
		if p != "/remote-image.gif" {
			t.Errorf("the beacon heard %s: a script of the message ran", p)
		}
	}

	// Flag it from the browser: an IMAP client sees \Flagged.
	run(t, ctx, "flag",
		chromedp.Click(`#act-flag`, chromedp.ByQuery),
		chromedp.WaitVisible(`#act-unflag`, chromedp.ByQuery))
	got := imapPy(t, n, "taro@example.jp", "correct horse", `
m = login()
m.select("INBOX")
typ, data = m.uid("SEARCH", None, "FLAGGED")
print("flagged", d(data[0]))
typ, data = m.uid("SEARCH", None, "UNSEEN")
print("unseen", d(data[0]))
m.logout()
`)
	// All three were opened (\Seen); the HTML one (UID 2) is flagged.
	if got != "flagged 2\nunseen \n" {
		t.Errorf("IMAP after flagging:\n%s", got)
	}

	// A new folder, then move the Japanese message there; spam the plain
	// one; delete the HTML one to Trash.
	run(t, ctx, "create a folder",
		chromedp.Navigate(https+"/mail/folders"),
		chromedp.SendKeys(`#newfolder`, "仕事", chromedp.ByQuery),
		chromedp.Click(`#create-folder`, chromedp.ByQuery),
		chromedp.WaitVisible(`//a[@data-folder="仕事"]`, chromedp.BySearch))
	shot(t, ctx, "mail-folders")
	run(t, ctx, "move the Japanese message",
		chromedp.Navigate(https+"/mail/msg?uid=3"),
		chromedp.WaitVisible(`#moveto`, chromedp.ByQuery),
		chromedp.SetValue(`#moveto`, "仕事", chromedp.ByQuery),
		chromedp.Click(`#act-move`, chromedp.ByQuery),
		chromedp.WaitVisible(`#messages`, chromedp.ByQuery))
	run(t, ctx, "spam the plain message",
		chromedp.Navigate(https+"/mail/msg?uid=1"),
		chromedp.WaitVisible(`#act-spam`, chromedp.ByQuery),
		chromedp.Click(`#act-spam`, chromedp.ByQuery),
		chromedp.WaitVisible(`#messages`, chromedp.ByQuery))
	run(t, ctx, "delete the HTML message",
		chromedp.Navigate(https+"/mail/msg?uid=2"),
		chromedp.WaitVisible(`#act-delete`, chromedp.ByQuery),
		chromedp.Click(`#act-delete`, chromedp.ByQuery),
		chromedp.WaitVisible(`#empty`, chromedp.ByQuery))
	got = imapPy(t, n, "taro@example.jp", "correct horse", `
m = login()
for f in ["INBOX", "&TtVOiw-", "Junk", "Trash"]:
    typ, data = m.select(f)
    typ, subj = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])") if int(data[0]) else ("OK", [])
    print(f, d(data[0]), sorted(" ".join(d(x[1]).split()) for x in subj if isinstance(x, tuple)))
m.logout()
`)
	want := "INBOX 0 []\n" +
		"&TtVOiw- 1 ['Subject: =?ISO-2022-JP?B?GyRCN29MPiVGJTklSBsoQg==?=']\n" +
		"Junk 1 ['Subject: plain hello']\n" +
		"Trash 1 ['Subject: html with tricks']\n"
	if got != want {
		t.Errorf("IMAP after move, spam, delete:\n%s\nwant:\n%s", got, want)
	}
	// Trash over IMAP keeps the flag set in the browser.
	got = imapPy(t, n, "taro@example.jp", "correct horse", `
m = login()
m.select("Trash")
typ, data = m.fetch("1", "(FLAGS)")
print(d(data[0]))
m.logout()
`)
	if !strings.Contains(got, `\Flagged`) {
		t.Errorf("Trash flags: %s", got)
	}
	run(t, ctx, "empty the trash",
		chromedp.Navigate(https+"/mail/?f=Trash"),
		chromedp.Click(`#empty-folder`, chromedp.ByQuery),
		chromedp.WaitVisible(`#empty`, chromedp.ByQuery))
	shot(t, ctx, "mail-trash-emptied")
	// The same pages on a desktop screen: folders beside the list.
	run(t, ctx, "desktop", chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(https+"/mail/?f=%E4%BB%95%E4%BA%8B&lang=ja"), chromedp.WaitVisible(`#messages`, chromedp.ByQuery))
	shot(t, ctx, "mail-list-desktop-ja")
	run(t, ctx, "desktop message", chromedp.Click(`#messages td.subject a`, chromedp.ByQuery), chromedp.WaitVisible(`#mailtext`, chromedp.ByQuery))
	shot(t, ctx, "mail-read-desktop-ja")
}

// TestWebmailCSRFAndOtherAccounts: with curl and a real session cookie,
// every state-changing webmail request without the form's token (or from
// another origin) is refused with 403 and changes nothing; and one
// account's session never shows another account's mail.
func TestWebmailCSRFAndOtherAccounts(t *testing.T) {
	NeedTool(t, "curl")
	n := webNode(t, "")
	n.AddUser("taro@example.jp", "correct horse")
	n.AddUser("hanako@example.jp", "battery staple")
	n.Start()
	mxPy(t, n, "taro@example.jp", "From: a@remote.example\r\nTo: taro@example.jp\r\nSubject: taro's secret\r\n\r\nthe secret text\r\n")
	n.WaitMaildir("taro@example.jp", 1)
	https := "https://" + n.Addr("https")
	taro := curlLogin(t, https, "taro@example.jp", "correct horse")
	hanako := curlLogin(t, https, "hanako@example.jp", "battery staple")

	code, page := curl(t, "-b", taro.jar, https+"/mail/")
	if code != 200 || !strings.Contains(page, "taro&#39;s secret") {
		t.Fatalf("taro's list: %d\n%s", code, page)
	}
	for _, p := range []struct{ path, data string }{
		{"/mail/act", "uid=1&action=delete"},
		{"/mail/act", "uid=1&action=flag"},
		{"/mail/act", "uid=1&action=spam"},
		{"/mail/folders", "op=create&name=evil"},
		{"/mail/empty", "f=Trash"},
	} {
		// No token; then the right token from another origin.
		if code, _ := curl(t, "-b", taro.jar, "-d", p.data, https+p.path); code != 403 {
			t.Errorf("%s %s without token: %d, want 403", p.path, p.data, code)
		}
		if code, _ := curl(t, "-b", taro.jar, "-H", "Origin: https://evil.example", "-d", p.data+"&csrf="+url.QueryEscape(taro.token), https+p.path); code != 403 {
			t.Errorf("%s %s from another origin: %d, want 403", p.path, p.data, code)
		}
	}
	got := imapPy(t, n, "taro@example.jp", "correct horse", `
m = login()
typ, data = m.select("INBOX")
typ, flags = m.fetch("1", "(FLAGS)")
typ, lst = m.list()
print(d(data[0]), d(flags[0]), len(lst))
m.logout()
`)
	if got != "1 1 (FLAGS ()) 5\n" {
		t.Errorf("after refused posts, over IMAP: %q (want the message unflagged in INBOX, 5 folders)", got)
	}
	// With the token, the same post works (the refusals were the token's).
	if code, _ := curl(t, "-b", taro.jar, "-d", "uid=1&action=flag&csrf="+url.QueryEscape(taro.token), https+"/mail/act"); code != 303 {
		t.Errorf("flag with the token: %d, want 303", code)
	}

	// Hanako's session, taro's UID and folder: her own (empty) mailbox.
	for _, p := range []string{"/mail/", "/mail/msg?uid=1", "/mail/body?uid=1", "/mail/raw?uid=1", "/mail/part?uid=1&part=1", "/mail/?q=secret&in=body"} {
		code, page := curl(t, "-b", hanako.jar, https+p)
		if strings.Contains(page, "secret text") || strings.Contains(page, "taro&#39;s secret") || strings.Contains(page, "taro's secret") {
			t.Errorf("hanako's %s shows taro's mail (%d):\n%s", p, code, page)
		}
		if p != "/mail/" && !strings.HasPrefix(p, "/mail/?") && code != 404 {
			t.Errorf("hanako's %s: %d, want 404", p, code)
		}
	}
	// Without a session: the login page, for every mail URL.
	for _, p := range []string{"/mail/", "/mail/msg?uid=1", "/mail/body?uid=1", "/mail/raw?uid=1"} {
		if code, resp := curl(t, https+p); code != 303 || !strings.Contains(header(resp, "Location"), "/login") {
			t.Errorf("%s without login: %d %s", p, code, header(resp, "Location"))
		}
	}
	// Downloads are attachments, never pages.
	code, resp := curl(t, "-b", taro.jar, https+"/mail/raw?uid=1")
	if code != 200 || !strings.HasPrefix(header(resp, "Content-Disposition"), "attachment") || header(resp, "X-Content-Type-Options") != "nosniff" || header(resp, "Content-Type") != "application/octet-stream" {
		t.Errorf("raw download: %d\n%s", code, resp)
	}
}

type curlSession struct{ jar, token string }

// curlLogin logs in with curl and returns the cookie jar and the CSRF
// token the pages carry.
func curlLogin(t *testing.T, https, user, pw string) curlSession {
	t.Helper()
	jar := filepath.Join(t.TempDir(), "jar")
	_, page := curl(t, "-c", jar, https+"/login")
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no token on the login page:\n%s", page)
	}
	code, resp := curl(t, "-b", jar, "-c", jar, "--data-urlencode", "csrf="+m[1], "--data-urlencode", "user="+user, "--data-urlencode", "password="+pw, https+"/login")
	if code != 303 {
		t.Fatalf("login %s: %d\n%s", user, code, resp)
	}
	// The token is renewed at login: read it from the jar.
	b, _ := os.ReadFile(jar)
	tm := regexp.MustCompile(`__Host-mg_csrf\t(\S+)`).FindStringSubmatch(string(b))
	if tm == nil {
		t.Fatalf("no CSRF cookie in the jar:\n%s", b)
	}
	return curlSession{jar: jar, token: tm[1]}
}
