package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"mailgate/internal/config"
	"mailgate/internal/password"
)

// operatorClient logs admin@example.jp (an operator) in and returns the
// client with a CSRF token of its session.
func (s *site) operatorClient() (*http.Client, string) {
	s.t.Helper()
	h, _ := password.Hash("operator pw")
	s.st.AddAccount(context.Background(), "test", "admin@example.jp", h)
	op := s.client(s.secure)
	_, page := s.do(op, "GET", s.secure.URL+"/login", nil, nil)
	s.do(op, "POST", s.secure.URL+"/login", url.Values{"csrf": {formToken(s.t, page)}, "user": {"admin@example.jp"}, "password": {"operator pw"}}, nil)
	resp, page := s.do(op, "GET", s.secure.URL+"/console/edge", nil, nil)
	if resp.StatusCode != 200 {
		s.t.Fatalf("console edge page: %d\n%s", resp.StatusCode, page)
	}
	return op, formToken(s.t, page)
}

// TestConsoleEdgePolicy: pools and exemptions added and removed by a
// human are the store's operations with its rules and audit; forms
// without the CSRF token and visitors who are no operators are refused.
func TestConsoleEdgePolicy(t *testing.T) {
	s := newSite(t, func(c *config.Config) { c.Web.Operators = []string{"admin@example.jp"} })
	ctx := context.Background()
	anon := s.client(s.secure)
	for _, p := range []string{"/console/edge", "/console/dkim"} {
		if resp, _ := s.do(anon, "GET", s.secure.URL+p, nil, nil); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s without login: %d", p, resp.StatusCode)
		}
	}
	sub := s.client(s.secure)
	s.login(sub, "correct horse")
	if resp, _ := s.do(sub, "GET", s.secure.URL+"/console/edge", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a subscriber on the edge page: %d", resp.StatusCode)
	}
	op, tok := s.operatorClient()
	add := url.Values{"name": {"dyn"}, "kind": {"dynamic"}, "prefixes": {"203.0.113.0/24, 2001:db8:1::/48"}}
	if resp, _ := s.do(op, "POST", s.secure.URL+"/console/edge/pools", add, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("add pool without CSRF token: %d", resp.StatusCode)
	}
	add.Set("csrf", tok)
	resp, page := s.do(op, "POST", s.secure.URL+"/console/edge/pools", add, nil)
	if resp.StatusCode != 200 || !strings.Contains(page, "2 prefixes added") || !strings.Contains(page, "<code>2001:db8:1::/48</code>") {
		t.Fatalf("add pool: %d\n%s", resp.StatusCode, page)
	}
	if ps, _ := s.st.PoolPrefixes(ctx, "dyn"); len(ps) != 2 {
		t.Errorf("store has %v", ps)
	}
	resp, page = s.do(op, "POST", s.secure.URL+"/console/edge/pools", url.Values{"csrf": {tok}, "name": {"dyn"}, "kind": {"dynamic"}, "prefixes": {"10.1.2.3/8"}}, nil)
	if resp.StatusCode != 400 || !strings.Contains(page, "host bits set") {
		t.Errorf("host bits: %d", resp.StatusCode)
	}
	resp, page = s.do(op, "POST", s.secure.URL+"/console/edge/exemptions", url.Values{"csrf": {tok}, "prefix": {"203.0.112.0/23"}, "reason": {"office"}}, nil)
	if resp.StatusCode != 400 || !strings.Contains(page, "max_exempt_prefix_v4") {
		t.Errorf("wide exemption: %d", resp.StatusCode)
	}
	resp, page = s.do(op, "POST", s.secure.URL+"/console/edge/exemptions", url.Values{"csrf": {tok}, "prefix": {"203.0.113.9"}, "reason": {"ticket 5"}, "until": {"2099-01-02"}}, nil)
	if resp.StatusCode != 200 || !strings.Contains(page, "<code>203.0.113.9/32</code>") || !strings.Contains(page, "2099-01-02") {
		t.Errorf("exemption: %d\n%s", resp.StatusCode, page)
	}
	if log, _ := s.st.AuditLog(ctx, 1); log[0].Actor != "web:admin@example.jp" || log[0].Action != "edge.exempt.add" {
		t.Errorf("audit %+v", log[0])
	}
	resp, _ = s.do(op, "POST", s.secure.URL+"/console/edge/exemptions/remove", url.Values{"csrf": {tok}, "prefix": {"203.0.113.9/32"}}, nil)
	if es, _ := s.st.Exemptions(ctx); resp.StatusCode != 200 || len(es) != 0 {
		t.Errorf("remove exemption: %d %v", resp.StatusCode, es)
	}
	resp, _ = s.do(op, "POST", s.secure.URL+"/console/edge/pools/remove", url.Values{"csrf": {tok}, "name": {"dyn"}, "prefix": {"2001:db8:1::/48"}}, nil)
	if ps, _ := s.st.PoolPrefixes(ctx, "dyn"); resp.StatusCode != 200 || len(ps) != 1 {
		t.Errorf("remove prefix: %d %v", resp.StatusCode, ps)
	}
	resp, _ = s.do(op, "POST", s.secure.URL+"/console/edge/pools/remove", url.Values{"csrf": {tok}, "name": {"dyn"}}, nil)
	if ps, _ := s.st.Pools(ctx); resp.StatusCode != 200 || len(ps) != 0 {
		t.Errorf("remove pool: %d %v", resp.StatusCode, ps)
	}
}

// TestConsoleDKIM: a key generated, activated and retired from the
// console; the page shows records, never a private key.
func TestConsoleDKIM(t *testing.T) {
	s := newSite(t, func(c *config.Config) {
		c.Web.Operators = []string{"admin@example.jp"}
		c.DataDir = t.TempDir()
		c.Publish.OutboundIPs = []string{"192.0.2.1"}
		c.DNS.Servers = []string{"127.0.0.1:9"} // nothing answers: every lookup fails
		c.DNS.Timeout = 2 * time.Second
	})
	op, tok := s.operatorClient()
	post := func(action, sel string, extra url.Values) (*http.Response, string) {
		v := url.Values{"csrf": {tok}, "domain": {"example.jp"}, "selector": {sel}, "algorithm": {"ed25519"}}
		for k, x := range extra {
			v[k] = x
		}
		return s.do(op, "POST", s.secure.URL+"/console/dkim/"+action, v, nil)
	}
	if resp, page := post("keygen", "k1", nil); resp.StatusCode != 200 || !strings.Contains(page, "k1._domainkey.example.jp.") {
		t.Fatalf("keygen: %d\n%s", resp.StatusCode, page)
	}
	post("keygen", "k2", nil)
	if resp, page := post("retire", "k1", nil); resp.StatusCode != 409 || !strings.Contains(page, `id="error"`) {
		t.Errorf("retire the active key: %d", resp.StatusCode)
	}
	if resp, _ := post("keygen", "Bad Sel", nil); resp.StatusCode != 400 {
		t.Errorf("bad selector: %d", resp.StatusCode)
	}
	post("activate", "k2", nil)
	resp, page := post("retire", "k1", nil)
	if resp.StatusCode != 200 || strings.Contains(page, `id="key-k1"`) || !strings.Contains(page, `id="key-k2"`) {
		t.Errorf("retire: %d\n%s", resp.StatusCode, page)
	}
	resp, page = s.do(op, "GET", s.secure.URL+"/console/dkim?domain=example.jp", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(page, "v=spf1 ip4:192.0.2.1 -all") || strings.Contains(page, "PRIVATE") {
		t.Errorf("dkim page: %d\n%s", resp.StatusCode, page)
	}
	resp, page = s.do(op, "GET", s.secure.URL+"/console/dkim?domain=example.jp&check=1", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `class="dns-error"`) || strings.Contains(page, `class="dns-ok"`) {
		t.Errorf("live check with no resolver answering: %d\n%s", resp.StatusCode, page)
	}
	if resp, _ := s.do(op, "POST", s.secure.URL+"/console/dkim/keygen", url.Values{"domain": {"example.jp"}, "selector": {"k3"}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("keygen without CSRF token: %d", resp.StatusCode)
	}
}
