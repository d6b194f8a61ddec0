package web

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailgate/internal/config"
	"mailgate/internal/mailbox"
	"mailgate/internal/password"
)

// mailSite is a site with a data directory and a second account.
func mailSite(t *testing.T) (*site, string) {
	dataDir := t.TempDir()
	s := newSite(t, func(c *config.Config) { c.DataDir = dataDir })
	h, _ := password.Hash("battery staple")
	if err := s.st.AddAccount(context.Background(), "test", "hanako@example.jp", h); err != nil {
		t.Fatal(err)
	}
	return s, filepath.Join(dataDir, "mail")
}

// deliver puts a message into account's INBOX as local delivery does.
func deliver(t *testing.T, mailRoot, account, msg string) {
	t.Helper()
	dir, err := mailbox.Dir(mailRoot, account)
	if err != nil {
		t.Fatal(err)
	}
	msg = strings.ReplaceAll(msg, "\n", "\r\n")
	name := mailbox.DeliveryName(time.Now(), strings.ReplaceAll(t.Name(), "/", "_")+time.Now().Format(".150405.000000000"), "test", int64(len(msg)))
	if err := mailbox.Deliver(dir, name, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
}

func (s *site) loginAs(c *http.Client, user, pw string) {
	s.t.Helper()
	_, page := s.do(c, "GET", s.secure.URL+"/login", nil, nil)
	resp, _ := s.do(c, "POST", s.secure.URL+"/login", url.Values{"csrf": {formToken(s.t, page)}, "user": {user}, "password": {pw}, "next": {"/mail/"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		s.t.Fatalf("login %s: %d", user, resp.StatusCode)
	}
}

func TestMailListAndRead(t *testing.T) {
	s, root := mailSite(t)
	deliver(t, root, "taro@example.jp", "From: Hanako <hanako@example.jp>\nTo: taro@example.jp\nSubject: =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=\nContent-Type: text/plain; charset=ISO-2022-JP\n\n\x1b$B$3$s$K$A$O\x1b(B\n")
	c := s.client(s.secure)
	s.loginAs(c, "taro@example.jp", "correct horse")
	resp, page := s.do(c, "GET", s.secure.URL+"/mail/", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(page, "こんにちは") || !strings.Contains(page, "Hanako") {
		t.Fatalf("list: %d\n%s", resp.StatusCode, page)
	}
	resp, page = s.do(c, "GET", s.secure.URL+"/mail/msg?uid=1", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `<pre class="mailtext" id="mailtext">こんにちは`) {
		t.Fatalf("read: %d\n%s", resp.StatusCode, page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-src 'self'") || !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe") {
		t.Errorf("read page CSP %q", csp)
	}
	// Reading marked it \Seen in the Maildir name, where IMAP sees it.
	dir, _ := mailbox.Dir(root, "taro@example.jp")
	names, _ := filepath.Glob(filepath.Join(dir, "cur", "*:2,S"))
	if len(names) != 1 {
		t.Errorf("seen files %v", names)
	}
}

func TestMailOtherAccountCannotRead(t *testing.T) {
	s, root := mailSite(t)
	deliver(t, root, "taro@example.jp", "From: a@example.com\nSubject: secret of taro\n\nsecret body\n")
	c := s.client(s.secure)
	s.loginAs(c, "hanako@example.jp", "battery staple")
	for _, p := range []string{"/mail/", "/mail/msg?uid=1", "/mail/body?uid=1", "/mail/raw?uid=1", "/mail/part?uid=1&part=1", "/mail/?f=INBOX&q=secret"} {
		_, page := s.do(c, "GET", s.secure.URL+p, nil, nil)
		if strings.Contains(page, "secret of taro") || strings.Contains(page, "secret body") {
			t.Errorf("%s shows taro's mail to hanako:\n%s", p, page)
		}
	}
}

func TestMailActionsNeedCSRFToken(t *testing.T) {
	s, root := mailSite(t)
	deliver(t, root, "taro@example.jp", "From: a@example.com\nSubject: x\n\nbody\n")
	c := s.client(s.secure)
	s.loginAs(c, "taro@example.jp", "correct horse")
	for _, f := range []struct {
		path string
		form url.Values
	}{
		{"/mail/act", url.Values{"uid": {"1"}, "action": {"delete"}}},
		{"/mail/folders", url.Values{"op": {"create"}, "name": {"evil"}}},
		{"/mail/empty", url.Values{"f": {"Trash"}}},
	} {
		resp, _ := s.do(c, "POST", s.secure.URL+f.path, f.form, nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s without token: %d, want 403", f.path, resp.StatusCode)
		}
	}
	dir, _ := mailbox.Dir(root, "taro@example.jp")
	news, _ := filepath.Glob(filepath.Join(dir, "new", "*"))
	curs, _ := filepath.Glob(filepath.Join(dir, "cur", "*"))
	if names := append(news, curs...); len(names) != 1 {
		t.Errorf("INBOX after refused posts: %v", names)
	}
	if mailbox.FolderExists(dir, "evil") {
		t.Error("folder created without a token")
	}
}

func TestMailBodyFrameIsLockedDown(t *testing.T) {
	s, root := mailSite(t)
	deliver(t, root, "taro@example.jp", "From: a@example.com\nSubject: html\nContent-Type: text/html\n\n<p onclick=\"x()\">hi<script>alert(1)</script><img src=\"http://127.0.0.1:1/t.png\" onerror=\"alert(2)\"></p>\n")
	c := s.client(s.secure)
	s.loginAs(c, "taro@example.jp", "correct horse")
	// The read page frames the body from the URL it names.
	_, page := s.do(c, "GET", s.secure.URL+"/mail/msg?uid=1", nil, nil)
	m := regexp.MustCompile(`<iframe[^>]* sandbox="allow-popups allow-popups-to-escape-sandbox"[^>]* src="([^"]+)"`).FindStringSubmatch(page)
	if m == nil || html.UnescapeString(m[1]) != "/mail/body?f=INBOX&uid=1" {
		t.Fatalf("frame: %q in\n%s", m, page)
	}
	resp, body := s.do(c, "GET", s.secure.URL+html.UnescapeString(m[1]), nil, nil)
	if resp.StatusCode != 200 {
		t.Fatal(resp.StatusCode)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "img-src data:;", "sandbox", "frame-ancestors 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("frame CSP %q lacks %q", csp, want)
		}
	}
	for _, bad := range []string{"<script", "onerror", "onclick", "127.0.0.1"} {
		if strings.Contains(body, bad) {
			t.Errorf("frame holds %q:\n%s", bad, body)
		}
	}
	resp, body = s.do(c, "GET", s.secure.URL+"/mail/body?uid=1&images=1", nil, nil)
	if !strings.Contains(body, "http://127.0.0.1:1/t.png") || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "img-src data: https: http:") {
		t.Errorf("images asked for: CSP %q body %s", resp.Header.Get("Content-Security-Policy"), body)
	}
}

// An HTML attachment is a download, never a page of ours.
func TestMailAttachmentIsADownload(t *testing.T) {
	s, root := mailSite(t)
	deliver(t, root, "taro@example.jp", "From: a@example.com\nSubject: att\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nsee attached\n--b\nContent-Type: text/html\nContent-Disposition: attachment; filename*=ISO-2022-JP''%1B%24BF%7CK%5C8l%1B%28B.html\n\n<script>alert(1)</script>\n--b--\n")
	c := s.client(s.secure)
	s.loginAs(c, "taro@example.jp", "correct horse")
	_, page := s.do(c, "GET", s.secure.URL+"/mail/msg?uid=1", nil, nil)
	m := regexp.MustCompile(`<a href="([^"]+)" download>日本語.html</a>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no attachment link:\n%s", page)
	}
	resp, body := s.do(c, "GET", s.secure.URL+html.UnescapeString(m[1]), nil, nil)
	h := resp.Header
	if resp.StatusCode != 200 || body != "<script>alert(1)</script>" {
		t.Fatalf("download: %d %q", resp.StatusCode, body)
	}
	if h.Get("Content-Disposition") != "attachment; filename*=utf-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.html" ||
		h.Get("Content-Type") != "application/octet-stream" || h.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("download headers %v", h)
	}
}

// TestMailConversations: the list's conversations toggle shows a row per
// thread (newest first, its size and unread count) and links back to
// single messages; page counts are in threads.
func TestMailConversations(t *testing.T) {
	s, root := mailSite(t)
	deliver(t, root, "taro@example.jp", "From: a@example.jp\nSubject: plan\nMessage-ID: <a@x>\n\nx\n")
	deliver(t, root, "taro@example.jp", "From: b@example.jp\nSubject: other\nMessage-ID: <b@x>\n\nx\n")
	deliver(t, root, "taro@example.jp", "From: c@example.jp\nSubject: Re: plan\nMessage-ID: <c@x>\nIn-Reply-To: <a@x>\n\nx\n")
	c := s.client(s.secure)
	s.loginAs(c, "taro@example.jp", "correct horse")
	_, page := s.do(c, "GET", s.secure.URL+"/mail/", nil, nil)
	if !strings.Contains(page, `<a href="/mail/?conv=1" id="conv-toggle">Show conversations</a>`) {
		t.Fatalf("no conversations toggle:\n%s", page)
	}
	resp, page := s.do(c, "GET", s.secure.URL+"/mail/?conv=1", nil, nil)
	rows := regexp.MustCompile(`data-uid="(\d+)"`).FindAllStringSubmatch(page, -1)
	if resp.StatusCode != 200 || len(rows) != 2 || rows[0][1] != "3" || rows[1][1] != "2" {
		t.Fatalf("conversation rows %v, want 3 (the plan thread) then 2:\n%s", rows, page)
	}
	for _, want := range []string{
		`Re: plan</a> <span class="count" title="2 messages in this conversation">2</span> <span class="unread">2 unread</span>`,
		`Page 1 of 1 (2 conversations)`,
		`<a href="/mail/" id="conv-toggle">Show single messages</a>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("conversation page lacks %q:\n%s", want, page)
		}
	}
	// Search and sort work in the conversation view and stay in it: a
	// search for c@ (who wrote 3) keeps the plan conversation with its
	// one match; the toggle keeps the search; by sender the rows follow
	// the newest message's sender.
	_, found := s.do(c, "GET", s.secure.URL+"/mail/?conv=1&q=c%40example", nil, nil)
	if rows := regexp.MustCompile(`data-uid="(\d+)"`).FindAllStringSubmatch(found, -1); len(rows) != 1 || rows[0][1] != "3" {
		t.Errorf("conversations matching c@example: rows %v, want 3", rows)
	}
	for _, want := range []string{
		`<span class="unread">2 unread</span> <span class="matches">1 matching</span>`,
		`<input type="hidden" name="conv" value="1">`,
		`Page 1 of 1 (1 conversations)`,
		`<a href="/mail/?q=c%40example" id="conv-toggle">Show single messages</a>`,
	} {
		if !strings.Contains(found, want) {
			t.Errorf("conversation search page lacks %q:\n%s", want, found)
		}
	}
	if _, ja := s.do(c, "GET", s.secure.URL+"/mail/?conv=1&q=c%40example", nil, map[string]string{"Accept-Language": "ja"}); !strings.Contains(ja, `<span class="matches">検索に一致 1 通</span>`) {
		t.Errorf("Japanese conversation search page lacks its matching count:\n%s", ja)
	}
	for sort, want := range map[string]string{"sort=from&asc=1": "2 3", "sort=from": "3 2", "asc=1": "2 3", "": "3 2"} {
		_, page := s.do(c, "GET", s.secure.URL+"/mail/?conv=1&"+sort, nil, nil)
		var got []string
		for _, m := range regexp.MustCompile(`data-uid="(\d+)"`).FindAllStringSubmatch(page, -1) {
			got = append(got, m[1])
		}
		if strings.Join(got, " ") != want {
			t.Errorf("conversations by %q: rows %v, want %s", sort, got, want)
		}
	}
	// A conversation's checkbox selects all of it: deleting the plan
	// thread moves both its messages to Trash and leaves "other".
	boxes := regexp.MustCompile(`<input type="checkbox" name="uid" value="([^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(boxes) != 2 || boxes[0][1] != "3,1" || boxes[1][1] != "2" {
		t.Fatalf("checkbox values %v, want 3,1 (the plan thread) then 2", boxes)
	}
	resp, _ = s.do(c, "POST", s.secure.URL+"/mail/act", url.Values{"csrf": {formToken(t, page)}, "uid": {boxes[0][1]}, "action": {"delete"}, "f": {"INBOX"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete the conversation: %d", resp.StatusCode)
	}
	_, page = s.do(c, "GET", s.secure.URL+"/mail/", nil, nil)
	if rows := regexp.MustCompile(`data-uid="(\d+)"`).FindAllStringSubmatch(page, -1); len(rows) != 1 || rows[0][1] != "2" {
		t.Fatalf("INBOX after deleting the plan conversation: rows %v, want only 2", rows)
	}
}

// TestMailSortBar: the sort bar (a phone's list hides the date column and
// its header) links to the column headers' own URLs, in the
// conversations view too, and says the current order in both languages.
func TestMailSortBar(t *testing.T) {
	s, root := mailSite(t)
	deliver(t, root, "taro@example.jp", "From: a@example.jp\nSubject: plan\n\nx\n")
	c := s.client(s.secure)
	s.loginAs(c, "taro@example.jp", "correct horse")
	headerLink := func(page, id string) string {
		m := regexp.MustCompile(`<th[^>]*><a href="([^"]+)" id="` + id + `">`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no header link %s:\n%s", id, page)
		}
		return m[1]
	}
	for _, tc := range []struct{ query, lang, current string }{
		{"", "en", `id="order-date" aria-current="true">Date <span class="dir">↓ newest first</span></a>`},
		{"?asc=1", "en", `id="order-date" aria-current="true">Date <span class="dir">↑ oldest first</span></a>`},
		{"?conv=1", "ja", `id="order-date" aria-current="true">日時 <span class="dir">↓ 新しい順</span></a>`},
		{"?conv=1&asc=1", "ja", `id="order-date" aria-current="true">日時 <span class="dir">↑ 古い順</span></a>`},
		{"?sort=from&asc=1", "en", `id="order-from" aria-current="true">From <span class="dir">↑ ascending</span></a>`},
		{"?conv=1&sort=size", "ja", `id="order-size" aria-current="true">サイズ <span class="dir">↓ 降順</span></a>`},
	} {
		_, page := s.do(c, "GET", s.secure.URL+"/mail/"+tc.query, nil, map[string]string{"Accept-Language": tc.lang})
		if !strings.Contains(page, tc.current) || strings.Count(page, `aria-current="true"`) != 1 {
			t.Errorf("%s (%s): the sort bar lacks %q:\n%s", tc.query, tc.lang, tc.current, page)
		}
		for _, by := range []string{"date", "from", "subject", "size"} {
			want := `<a href="` + headerLink(page, "sort-"+by) + `" id="order-` + by + `"`
			if !strings.Contains(page, want) {
				t.Errorf("%s: the sort bar's %s link is not the header's: want %s", tc.query, by, want)
			}
		}
	}
}
