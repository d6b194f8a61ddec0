package web

import (
	"context"
	"io"
	"mailgate/internal/testpeer"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"mailgate/internal/config"
	"mailgate/internal/password"
	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

// site is a web server over a fresh SQLite store, with one account.
type site struct {
	t      *testing.T
	srv    *Server
	st     *store.Store
	plain  *httptest.Server
	secure *httptest.Server
}

func newSite(t *testing.T, mod func(*config.Config)) *site {
	t.Helper()
	cfg := config.Default()
	cfg.Hostname = "mail.isp.example"
	cfg.Web.ClientHost = "gw.{domain}"
	if mod != nil {
		mod(cfg)
	}
	st := storetest.SQLite(t)
	ctx := context.Background()
	if err := st.AddDomain(ctx, "test", "example.jp"); err != nil {
		t.Fatal(err)
	}
	h, _ := password.Hash("correct horse")
	if err := st.AddAccount(ctx, "test", "taro@example.jp", h); err != nil {
		t.Fatal(err)
	}
	srv, err := New(cfg, st, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &site{t: t, srv: srv, st: st, plain: httptest.NewServer(srv.Handler()), secure: httptest.NewTLSServer(srv.Handler())}
	t.Cleanup(s.plain.Close)
	t.Cleanup(s.secure.Close)
	return s
}

// client is a browser: a cookie jar, no redirects followed.
func (s *site) client(ts *httptest.Server) *http.Client {
	jar, _ := cookiejar.New(nil)
	c := *ts.Client() // a copy: the server's client is shared
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func (s *site) do(c *http.Client, method, u string, form url.Values, hdr map[string]string) (*http.Response, string) {
	s.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Accept-Language", "en")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func formToken(t *testing.T, html string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no csrf field in the page:\n%s", html)
	}
	return m[1]
}

// login logs c in and returns the account page's CSRF token.
func (s *site) login(c *http.Client, pw string) *http.Response {
	s.t.Helper()
	_, page := s.do(c, "GET", s.secure.URL+"/login", nil, nil)
	resp, _ := s.do(c, "POST", s.secure.URL+"/login", url.Values{"csrf": {formToken(s.t, page)}, "user": {"taro@example.jp"}, "password": {pw}, "next": {"/account"}}, nil)
	return resp
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	s := newSite(t, nil)
	for _, ts := range []*httptest.Server{s.plain, s.secure} {
		for _, path := range []string{"/", "/check", "/nope", "/static/style.css"} {
			resp, _ := s.do(s.client(ts), "GET", ts.URL+path, nil, nil)
			h := resp.Header
			if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") ||
				h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "same-origin" {
				t.Errorf("%s%s: headers %v", ts.URL, path, h)
			}
			if hsts := h.Get("Strict-Transport-Security"); (ts == s.secure) != (hsts != "") {
				t.Errorf("%s%s: HSTS %q (only over TLS)", ts.URL, path, hsts)
			}
		}
	}
}

func TestPasswordPagesOnlyOverHTTPS(t *testing.T) {
	s := newSite(t, nil)
	c := s.client(s.plain)
	resp, _ := s.do(c, "GET", s.plain.URL+"/login?next=/account", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "https://127.0.0.1:8443/login?next=") {
		t.Fatalf("GET /login over http: %d Location %q; want 303 to the https listener", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page := s.do(c, "GET", s.plain.URL+"/check", nil, nil)
	resp, _ = s.do(c, "POST", s.plain.URL+"/login", url.Values{"csrf": {formToken(t, page)}, "user": {"taro@example.jp"}, "password": {"correct horse"}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("POST /login over http: %d, want 403", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			t.Fatal("a session cookie was set over plain http")
		}
	}
}

func TestCSRFRefused(t *testing.T) {
	s := newSite(t, nil)
	c := s.client(s.secure)
	_, page := s.do(c, "GET", s.secure.URL+"/login", nil, nil)
	tok := formToken(t, page)
	cases := []struct {
		name string
		form url.Values
		hdr  map[string]string
	}{
		{"no token", url.Values{"user": {"taro@example.jp"}, "password": {"correct horse"}}, nil},
		{"wrong token", url.Values{"csrf": {tok + "x"}, "user": {"taro@example.jp"}, "password": {"correct horse"}}, nil},
		{"foreign origin", url.Values{"csrf": {tok}, "user": {"taro@example.jp"}, "password": {"correct horse"}}, map[string]string{"Origin": "https://evil.example"}},
	}
	for _, tc := range cases {
		resp, body := s.do(c, "POST", s.secure.URL+"/login", tc.form, tc.hdr)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "The form expired or came from another site") {
			t.Errorf("%s: %d, want 403 with the CSRF message", tc.name, resp.StatusCode)
		}
	}
	// A fresh browser (no cookie) replaying a token also fails.
	resp, _ := s.do(s.client(s.secure), "POST", s.secure.URL+"/login", url.Values{"csrf": {tok}, "user": {"taro@example.jp"}, "password": {"correct horse"}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("token without its cookie: %d, want 403", resp.StatusCode)
	}
}

func TestLoginAccountPasswordChangeLogout(t *testing.T) {
	s := newSite(t, nil)
	c := s.client(s.secure)
	if resp, _ := s.do(c, "GET", s.secure.URL+"/account", nil, nil); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("account without login: %d %q, want 303 to /login", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := s.login(c, "wrong password"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d, want 401", resp.StatusCode)
	}
	resp := s.login(c, "correct horse")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/account" {
		t.Fatalf("login: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var sess *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			sess = ck
		}
	}
	if sess == nil || !sess.Secure || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" {
		t.Fatalf("session cookie %+v: want __Host-, Secure, HttpOnly, SameSite=Lax, Path=/", sess)
	}
	resp, page := s.do(c, "GET", s.secure.URL+"/account", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(page, "Mail address: taro@example.jp") || !strings.Contains(page, "Sent in the last 24 hours: 0 messages (limit 500)") ||
		!strings.Contains(page, "Recent web logins") || !strings.Contains(page, "<td>127.0.0.1</td>") {
		t.Fatalf("account page %d:\n%s", resp.StatusCode, page)
	}
	// A second browser logged in too; the password change ends it.
	other := s.client(s.secure)
	s.login(other, "correct horse")
	tok := formToken(t, page)
	resp, body := s.do(c, "POST", s.secure.URL+"/account/password", url.Values{"csrf": {tok}, "current": {"correct horse"}, "new": {"short"}, "again": {"short"}}, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "8 characters or more") {
		t.Fatalf("short password: %d", resp.StatusCode)
	}
	resp, body = s.do(c, "POST", s.secure.URL+"/account/password", url.Values{"csrf": {tok}, "current": {"correct horse"}, "new": {"battery staple"}, "again": {"battery staple"}}, nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "Password changed") {
		t.Fatalf("password change: %d\n%s", resp.StatusCode, body)
	}
	acct, _ := s.st.Account(context.Background(), "taro@example.jp")
	if ok, _ := password.VerifyAs(password.Normal, acct.PasswordHash, "battery staple"); !ok {
		t.Fatal("the new password was not stored")
	}
	if resp, _ := s.do(other, "GET", s.secure.URL+"/account", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the other browser's session survived the password change: %d", resp.StatusCode)
	}
	resp, body = s.do(c, "POST", s.secure.URL+"/account/spam", url.Values{"csrf": {tok}, "enabled": {"on"}, "action": {"junk"}}, nil)
	if set, _ := s.st.AccountSpam(context.Background(), "taro@example.jp"); resp.StatusCode != 200 || set.Action != "junk" {
		t.Fatalf("spam choice: %d %+v", resp.StatusCode, set)
	}
	// Filters: the same rules as `mailgate filter` (store.AddFilterRule).
	resp, body = s.do(c, "POST", s.secure.URL+"/account/filters", url.Values{"csrf": {tok}, "header": {"Subject"}, "regex": {"(unclosed"}, "folder": {"News"}}, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "That filter is not valid") {
		t.Fatalf("bad regex: %d", resp.StatusCode)
	}
	resp, body = s.do(c, "POST", s.secure.URL+"/account/filters", url.Values{"csrf": {tok}, "header": {"Subject"}, "regex": {"^\\[news\\]"}, "folder": {"News"}}, nil)
	rules, _ := s.st.FilterRules(context.Background(), "taro@example.jp")
	if resp.StatusCode != 200 || len(rules) != 1 || rules[0].Folder != "News" || !strings.Contains(body, "<td>News</td>") {
		t.Fatalf("add filter: %d %+v", resp.StatusCode, rules)
	}
	resp, _ = s.do(c, "POST", s.secure.URL+"/account/filters/remove", url.Values{"csrf": {tok}, "n": {"1"}}, nil)
	if rules, _ = s.st.FilterRules(context.Background(), "taro@example.jp"); resp.StatusCode != 200 || len(rules) != 0 {
		t.Fatalf("remove filter: %d %+v", resp.StatusCode, rules)
	}
	if resp, _ = s.do(c, "POST", s.secure.URL+"/account/filters", url.Values{"header": {"Subject"}, "regex": {"x"}, "folder": {"X"}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("filter without CSRF token: %d, want 403", resp.StatusCode)
	}
	if resp, _ = s.do(c, "POST", s.secure.URL+"/logout", url.Values{"csrf": {tok}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp, _ := s.do(c, "GET", s.secure.URL+"/account", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("account after logout: %d, want 303", resp.StatusCode)
	}
}

func TestLanguageFromAcceptLanguage(t *testing.T) {
	s := newSite(t, nil)
	c := s.client(s.plain)
	for _, tc := range []struct{ al, want string }{{"ja,en;q=0.5", "OP25B の影響を受けますか"}, {"en-US,en;q=0.9", "Am I affected by OP25B?"}, {"", "OP25B の影響を受けますか"}, {"fr", "OP25B の影響を受けますか"}} {
		resp, body := s.do(c, "GET", s.plain.URL+"/check", nil, map[string]string{"Accept-Language": tc.al})
		if !strings.Contains(body, tc.want) {
			t.Errorf("Accept-Language %q: want %q (Content-Language %s)", tc.al, tc.want, resp.Header.Get("Content-Language"))
		}
	}
}

func TestCatalogHasBothLanguages(t *testing.T) {
	for k, v := range catalog {
		if v[0] == "" || v[1] == "" || strings.Count(v[0], "%") != strings.Count(v[1], "%") {
			t.Errorf("%s: %q / %q", k, v[0], v[1])
		}
	}
}

func TestMobileconfigIsAValidPlist(t *testing.T) {
	s := newSite(t, nil)
	c := s.client(s.secure)
	if resp, _ := s.do(c, "GET", s.secure.URL+"/account/mobileconfig", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("without login: %d, want 303", resp.StatusCode)
	}
	s.login(c, "correct horse")
	resp, body := s.do(c, "GET", s.secure.URL+"/account/mobileconfig", nil, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-apple-aspen-config" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		testpeer.MissingPeer(t, "python3 (plistlib) not installed")
	}
	cmd := exec.Command(py, "-c", `import plistlib, sys
p = plistlib.loads(sys.stdin.buffer.read())
m = p["PayloadContent"][0]
print(p["PayloadType"], m["PayloadType"], m["EmailAddress"], m["IncomingMailServerHostName"], m["IncomingMailServerPortNumber"], m["OutgoingMailServerPortNumber"], m["OutgoingMailServerUseSSL"], len(p["PayloadUUID"]))`)
	cmd.Stdin = strings.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "Configuration com.apple.mail.managed taro@example.jp gw.example.jp 2993 2465 True 36" {
		t.Fatalf("plistlib: %v\n%s\n%s", err, out, body)
	}
}

// TestLoginNextStaysOnSite: the post-login redirect never leaves the
// site, also for what a browser's URL parser turns into "//host" (a tab
// or newline dropped, a backslash read as a slash).
func TestLoginNextStaysOnSite(t *testing.T) {
	s := newSite(t, nil)
	for _, next := range []string{"//evil.example", "/\t/evil.example", "/\n/evil.example", "/\\evil.example", "\\/evil.example", "https://evil.example", "/\x00/evil.example", "/\x7f/x"} {
		c := s.client(s.secure)
		_, page := s.do(c, "GET", s.secure.URL+"/login?next="+url.QueryEscape(next), nil, nil)
		if strings.Contains(page, "evil.example") {
			t.Errorf("next %q: the login page carries it", next)
		}
		resp, _ := s.do(c, "POST", s.secure.URL+"/login", url.Values{"csrf": {formToken(t, page)}, "user": {"taro@example.jp"}, "password": {"correct horse"}, "next": {next}}, nil)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/account" {
			t.Errorf("next %q: %d Location %q, want 303 to /account", next, resp.StatusCode, loc)
		}
	}
	c := s.client(s.secure)
	_, page := s.do(c, "GET", s.secure.URL+"/login", nil, nil)
	resp, _ := s.do(c, "POST", s.secure.URL+"/login", url.Values{"csrf": {formToken(t, page)}, "user": {"taro@example.jp"}, "password": {"correct horse"}, "next": {"/mail/?f=Work"}}, nil)
	if loc := resp.Header.Get("Location"); loc != "/mail/?f=Work" {
		t.Errorf("a path of ours: Location %q, want /mail/?f=Work", loc)
	}
}
