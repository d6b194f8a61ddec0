package web

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailgate/internal/config"
	"mailgate/internal/password"
	"mailgate/internal/spool"
)

func TestConsoleOperatorsOnly(t *testing.T) {
	s := newSite(t, func(c *config.Config) { c.Web.Operators = []string{"Admin@example.jp"} })
	h, _ := password.Hash("operator pw")
	s.st.AddAccount(context.Background(), "test", "admin@example.jp", h)
	sp, err := spool.Open(filepath.Join(t.TempDir(), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	s.srv.spool = sp
	env := &spool.Envelope{ID: spool.NewID(), From: "taro@example.jp", To: []string{"x@remote.example"}, Received: time.Now(), Origin: "submission"}
	sp.Put(env, []byte("Subject: hi\r\n\r\nhello\r\n"))

	anon := s.client(s.secure)
	for _, p := range []string{"/console", "/console/queue", "/console/accounts"} {
		if resp, _ := s.do(anon, "GET", s.secure.URL+p, nil, nil); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Errorf("%s without login: %d %q", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	sub := s.client(s.secure)
	s.login(sub, "correct horse")
	if resp, _ := s.do(sub, "GET", s.secure.URL+"/console/queue", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a subscriber in the console: %d, want 403", resp.StatusCode)
	}

	op := s.client(s.secure)
	_, page := s.do(op, "GET", s.secure.URL+"/login", nil, nil)
	s.do(op, "POST", s.secure.URL+"/login", url.Values{"csrf": {formToken(t, page)}, "user": {"admin@example.jp"}, "password": {"operator pw"}}, nil)
	resp, page := s.do(op, "GET", s.secure.URL+"/console/queue", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(page, env.ID) {
		t.Fatalf("operator queue page: %d\n%s", resp.StatusCode, page)
	}
	tok := formToken(t, page)
	if resp, _ := s.do(op, "POST", s.secure.URL+"/console/queue/"+env.ID+"/hold", url.Values{}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("hold without CSRF token: %d", resp.StatusCode)
	}
	resp, page = s.do(op, "POST", s.secure.URL+"/console/queue/"+env.ID+"/hold", url.Values{"csrf": {tok}}, nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `class="held"`) {
		t.Fatalf("hold: %d\n%s", resp.StatusCode, page)
	}
	resp, _ = s.do(op, "POST", s.secure.URL+"/console/accounts/taro@example.jp/status", url.Values{"csrf": {tok}, "status": {"suspended"}}, nil)
	if a, _ := s.st.Account(context.Background(), "taro@example.jp"); resp.StatusCode != 200 || a.Status != "suspended" {
		t.Fatalf("suspend: %d %+v", resp.StatusCode, a)
	}
	if log, _ := s.st.AuditLog(context.Background(), 1); log[0].Actor != "web:admin@example.jp" {
		t.Errorf("audit actor %q", log[0].Actor)
	}
	resp, page = s.do(op, "POST", s.secure.URL+"/console/domains", url.Values{"csrf": {tok}, "name": {"bad name"}}, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `id="error"`) {
		t.Errorf("bad domain: %d", resp.StatusCode)
	}
}
