package web

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailgate/internal/config"
)

// TestConsoleSetQuota: the console's quota form is store.SetAccountQuota
// through store.ParseQuota, audited as the operator; a bad size is a 400
// with the parser's words, and a form without the CSRF token changes
// nothing.
func TestConsoleSetQuota(t *testing.T) {
	s := newSite(t, func(c *config.Config) {
		c.Web.Operators = []string{"admin@example.jp"}
		c.DataDir = t.TempDir()
	})
	op, tok := s.operatorClient()
	path := s.secure.URL + "/console/accounts/taro@example.jp/quota"
	if resp, _ := s.do(op, "POST", path, url.Values{"quota": {"1G"}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("without CSRF token: %d", resp.StatusCode)
	}
	resp, page := s.do(op, "POST", path+"?lang=en", url.Values{"csrf": {tok}, "quota": {"2GiB"}}, nil)
	if resp.StatusCode != 200 || !strings.Contains(page, "taro@example.jp: storage limit set to 2GiB") || !strings.Contains(page, "0 B of 2.0 GB used (0%)") {
		t.Fatalf("set 2GiB: %d\n%s", resp.StatusCode, page)
	}
	if a := s.lastAudit(); a.Actor != "web:admin@example.jp" || a.Action != "user.quota" || a.Detail != "2147483648" {
		t.Errorf("audit: %+v", a)
	}
	if q, own, _ := s.st.AccountQuota(context.Background(), "taro@example.jp"); q != 2<<30 || !own {
		t.Errorf("stored: %d own=%v", q, own)
	}
	resp, page = s.do(op, "POST", path+"?lang=en", url.Values{"csrf": {tok}, "quota": {"-3"}}, nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `size &#34;-3&#34;: want a whole number of octets`) {
		t.Errorf("bad size: %d\n%s", resp.StatusCode, page)
	}
	if resp, _ := s.do(op, "GET", s.secure.URL+"/console/accounts/nobody@example.jp", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown account: %d", resp.StatusCode)
	}
}

// TestMailQuotaFull: a full mailbox's warning says it is full, in webmail
// and on My account.
func TestMailQuotaFull(t *testing.T) {
	dataDir := t.TempDir()
	s := newSite(t, func(c *config.Config) { c.DataDir = dataDir })
	s.st.SetDefaultMailboxQuota(1000)
	cur := filepath.Join(dataDir, "mail", "example.jp", "taro", "cur")
	os.MkdirAll(cur, 0o700)
	if err := os.WriteFile(filepath.Join(cur, "1.a.host,S=1000:2,S"), make([]byte, 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	c := s.client(s.secure)
	s.loginAs(c, "taro@example.jp", "correct horse")
	for _, path := range []string{"/mail/?lang=en", "/account?lang=en"} {
		_, page := s.do(c, "GET", s.secure.URL+path, nil, nil)
		if !strings.Contains(page, `<p id="quota-text">1000 B of 1000 B used (100%)</p>`) ||
			!strings.Contains(page, `<p class="bad" id="quota-warn" role="alert">Your mailbox is full: new mail cannot be delivered to you. Delete mail you no longer need and empty the Trash.</p>`) {
			t.Errorf("%s:\n%s", path, page)
		}
	}
}
