package web

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"mailgate/internal/config"
	"mailgate/internal/store"
)

// TestAPIPoolsAndPolicy: the edge policy changed over the API is the
// store's (the CLI's) operation: its rules (host bits, the exemption width
// limit) answer 400 with the store's message, changes are audited as
// api:NAME, and a read token cannot change anything.
func TestAPIPoolsAndPolicy(t *testing.T) {
	s := newSite(t, nil)
	ctx := context.Background()
	ops, _ := s.st.AddAPIToken(ctx, "test", "ops", []string{"read", "edge"})
	reader, _ := s.st.AddAPIToken(ctx, "test", "reader", []string{"read"})

	if code, m := s.api("POST", "/api/v1/pools", reader, `{"name":"dyn","kind":"dynamic","prefixes":["203.0.113.0/24"]}`); code != 403 || errCode(m) != "forbidden" {
		t.Fatalf("read token adding a pool: %d %v", code, m)
	}
	code, m := s.api("POST", "/api/v1/pools", ops, `{"name":"dyn","kind":"dynamic","prefixes":["203.0.113.0/24","2001:db8:100::/40"]}`)
	if code != 201 || m["added"] != 2.0 {
		t.Fatalf("add pool: %d %v", code, m)
	}
	for _, tc := range []struct{ body, want string }{
		{`{"name":"x","kind":"dynamic","prefixes":["10.1.2.3/8"]}`, "host bits set"},
		{`{"name":"x","kind":"dynamicish","prefixes":["10.0.0.0/8"]}`, "want dynamic or static"},
		{`{"name":"x","kind":"dynamic","prefixes":[]}`, "prefixes"},
		{`{"name":"x","kind":"dynamic","prefixes":["not-an-ip"]}`, "want an address"},
	} {
		code, m := s.api("POST", "/api/v1/pools", ops, tc.body)
		if e, _ := m["error"].(map[string]any); code != 400 || errCode(m) != "invalid" || !strings.Contains(e["message"].(string), tc.want) {
			t.Errorf("%s: %d %v, want 400 saying %q", tc.body, code, m, tc.want)
		}
	}
	if code, m := s.api("GET", "/api/v1/pools/dyn", reader, ""); code != 200 || m["total"] != 2.0 {
		t.Errorf("pool prefixes: %d %v", code, m)
	}
	if code, m := s.api("GET", "/api/v1/pools/nope", reader, ""); code != 404 || errCode(m) != "not_found" {
		t.Errorf("unknown pool: %d %v", code, m)
	}
	if code, m := s.api("DELETE", "/api/v1/pools/dyn/prefixes/2001:db8:100::/40", ops, ""); code != 204 {
		t.Errorf("remove a prefix: %d %v", code, m)
	}
	if code, m := s.api("DELETE", "/api/v1/pools/dyn/prefixes/2001:db8:100::/40", ops, ""); code != 404 {
		t.Errorf("remove it again: %d %v", code, m)
	}

	// A pool file, as `pool import` reads it.
	if code, m := s.apiBody("POST", "/api/v1/pools/import", ops, "text/csv", "pool,kind,prefix\nbiz,static,198.51.100.0/25\nbiz,static,198.51.100.128/25\n"); code != 200 || m["added"] != 2.0 {
		t.Errorf("import csv: %d %v", code, m)
	}
	if code, m := s.apiBody("POST", "/api/v1/pools/import?replace=true", ops, "application/toml", "[[pool]]\nname = \"biz\"\nkind = \"static\"\nprefixes = [\"198.51.100.0/24\"]\n"); code != 200 || m["rows"] != 1.0 {
		t.Errorf("import toml --replace: %d %v", code, m)
	}
	if ps, _ := s.st.PoolPrefixes(ctx, "biz"); len(ps) != 1 || ps[0].Prefix.String() != "198.51.100.0/24" {
		t.Errorf("biz after replace: %v", ps)
	}
	if code, m := s.apiBody("POST", "/api/v1/pools/import", ops, "text/csv", "biz,static,198.51.100.7/24\n"); code != 400 || errCode(m) != "invalid" {
		t.Errorf("import with host bits: %d %v", code, m)
	}
	if code, m := s.apiBody("POST", "/api/v1/pools/import", ops, "text/csv", strings.Repeat("x", 17<<20)); code != 413 || errCode(m) != "too_large" {
		t.Errorf("import too large: %d %v", code, m)
	}
	s.api("DELETE", "/api/v1/pools/biz", ops, "")

	// Exemptions: wider than [edge] max_exempt_prefix_v4 (/24) needs force.
	if code, m := s.api("POST", "/api/v1/exemptions", ops, `{"prefix":"203.0.112.0/23","reason":"whole office"}`); code != 400 || !strings.Contains(m["error"].(map[string]any)["message"].(string), "max_exempt_prefix_v4") {
		t.Errorf("wide exemption: %d %v", code, m)
	}
	if code, m := s.api("POST", "/api/v1/exemptions", ops, `{"prefix":"203.0.113.9","reason":"ticket 12","until":"2099-01-02T03:04:05Z"}`); code != 201 || m["prefix"] != "203.0.113.9/32" || m["until"] != "2099-01-02T03:04:05Z" {
		t.Errorf("exempt: %d %v", code, m)
	}
	if code, m := s.api("POST", "/api/v1/exemptions", ops, `{"prefix":"203.0.113.10","reason":""}`); code != 400 {
		t.Errorf("exemption without reason: %d %v", code, m)
	}
	if code, m := s.api("POST", "/api/v1/exemptions", ops, `{"prefix":"203.0.113.10","reason":"x","until":"soon"}`); code != 400 || errCode(m) != "invalid" {
		t.Errorf("bad until: %d %v", code, m)
	}
	if code, m := s.api("GET", "/api/v1/exemptions", reader, ""); code != 200 || m["total"] != 1.0 {
		t.Errorf("exemptions: %d %v", code, m)
	}
	if code, m := s.api("DELETE", "/api/v1/exemptions/203.0.113.9/32", ops, ""); code != 204 {
		t.Errorf("remove exemption: %d %v", code, m)
	}

	// Relays, carriers.
	if code, m := s.api("POST", "/api/v1/relays", ops, `{"prefixes":["192.0.2.25","2001:db8::25"]}`); code != 201 {
		t.Errorf("relays: %d %v", code, m)
	}
	if code, m := s.api("GET", "/api/v1/relays", reader, ""); code != 200 || m["total"] != 2.0 {
		t.Errorf("relay list: %d %v", code, m)
	}
	if code, m := s.api("DELETE", "/api/v1/relays/2001:db8::25", ops, ""); code != 204 {
		t.Errorf("relay remove: %d %v", code, m)
	}
	if code, m := s.api("POST", "/api/v1/carriers", ops, `{"name":"docomo","entries":["docomo.ne.jp","198.51.100.0/24"]}`); code != 201 {
		t.Errorf("carrier: %d %v", code, m)
	}
	if code, m := s.api("DELETE", "/api/v1/carriers/docomo/entries/198.51.100.0/24", ops, ""); code != 204 {
		t.Errorf("carrier entry remove: %d %v", code, m)
	}
	if code, m := s.api("GET", "/api/v1/carriers", reader, ""); code != 200 || m["total"] != 1.0 {
		t.Errorf("carrier list: %d %v", code, m)
	}

	// Scope and action: the plan shows them.
	code, m = s.api("POST", "/api/v1/edge/scope", ops, `{"scope":"carriers","from":"2099-04-01T00:00:00Z"}`)
	ch, _ := m["changes"].([]any)
	if code != 200 || len(ch) != 1 || ch[0].(map[string]any)["state"] != "upcoming" || m["next_change"] != "2099-04-01T00:00:00Z" {
		t.Errorf("scope: %d %v", code, m)
	}
	if code, m := s.api("POST", "/api/v1/edge/scope", ops, `{"scope":"some"}`); code != 400 {
		t.Errorf("bad scope: %d %v", code, m)
	}
	if code, m := s.api("PUT", "/api/v1/edge/action", ops, `{"action":"drop"}`); code != 200 || m["action"] != "drop" {
		t.Errorf("action: %d %v", code, m)
	}
	if code, m := s.api("PUT", "/api/v1/edge/action", ops, `{"action":"explode"}`); code != 400 {
		t.Errorf("bad action: %d %v", code, m)
	}
	if code, m := s.api("DELETE", "/api/v1/edge/scope/2099-04-01T00:00:00Z", ops, ""); code != 204 {
		t.Errorf("remove scope change: %d %v", code, m)
	}
	if code, m := s.api("GET", "/api/v1/edge/plan", reader, ""); code != 200 || m["defaulted"] != true || m["scope"] != "all" {
		t.Errorf("plan: %d %v", code, m)
	}

	code, m = s.api("GET", "/api/v1/edge/ruleset", reader, "")
	if rs, _ := m["ruleset"].(string); code != 200 || !strings.Contains(rs, "table inet op25b") || !strings.Contains(rs, "203.0.113.0/24") {
		t.Errorf("ruleset: %d %v", code, m)
	}
	if code, m := s.api("GET", "/api/v1/edge/ruleset?format=pf", reader, ""); code != 400 || errCode(m) != "invalid" {
		t.Errorf("bad format: %d %v", code, m)
	}

	// pool check: a static /28 inside the dynamic /24.
	s.api("POST", "/api/v1/pools", ops, `{"name":"fixed","kind":"static","prefixes":["203.0.113.16/28"]}`)
	s.api("POST", "/api/v1/exemptions", ops, `{"prefix":"192.0.2.99","reason":"outside"}`)
	code, m = s.api("GET", "/api/v1/edge/pool-check", reader, "")
	ov, _ := m["overlaps"].([]any)
	idle, _ := m["idle_exemptions"].([]any)
	if code != 200 || len(ov) != 1 || len(idle) != 1 {
		t.Errorf("pool check: %d %v", code, m)
	}
	if code, m := s.api("DELETE", "/api/v1/pools/fixed", ops, ""); code != 204 {
		t.Errorf("remove pool: %d %v", code, m)
	}
	log, _ := s.st.AuditLog(ctx, 1)
	if log[0].Actor != "api:ops" || log[0].Action != "pool.remove" || log[0].Subject != "fixed" {
		t.Errorf("audit: %+v", log[0])
	}
}

// TestAPIDKIMAndDNS: keys made, rotated and retired over the API are the
// ones the CLI's dkim.Keys sees; no private key in any answer.
func TestAPIDKIMAndDNS(t *testing.T) {
	s := newSite(t, func(c *config.Config) { c.DataDir = t.TempDir() })
	ctx := context.Background()
	ops, _ := s.st.AddAPIToken(ctx, "test", "keys", []string{"read", "dkim"})
	reader, _ := s.st.AddAPIToken(ctx, "test", "reader", []string{"read"})

	if code, m := s.api("POST", "/api/v1/domains/example.jp/dkim", reader, `{"selector":"s1"}`); code != 403 {
		t.Fatalf("read token: %d %v", code, m)
	}
	code, m := s.api("POST", "/api/v1/domains/example.jp/dkim", ops, `{"selector":"s1","algorithm":"ed25519"}`)
	if code != 201 || m["active"] != true || m["name"] != "s1._domainkey.example.jp." || !strings.HasPrefix(m["value"].(string), "v=DKIM1; k=ed25519; p=") {
		t.Fatalf("keygen: %d %v", code, m)
	}
	code, m = s.api("POST", "/api/v1/domains/example.jp/dkim", ops, `{"selector":"s2"}`)
	if code != 201 || m["active"] != false || m["algorithm"] != "rsa" {
		t.Fatalf("second key: %d %v", code, m)
	}
	for _, tc := range []struct {
		body, code string
		status     int
	}{
		{`{"selector":"s2"}`, "exists", 409},
		{`{"selector":"Bad Sel"}`, "invalid", 400},
		{`{"selector":"s3","algorithm":"dsa"}`, "invalid", 400},
	} {
		if code, m := s.api("POST", "/api/v1/domains/example.jp/dkim", ops, tc.body); code != tc.status || errCode(m) != tc.code {
			t.Errorf("%s: %d %v", tc.body, code, m)
		}
	}
	// A domain we do not host: 404, as for an account there, saying how
	// to add it; no key is made.
	code, m = s.api("POST", "/api/v1/domains/nope.example/dkim", ops, `{"selector":"s1","algorithm":"ed25519"}`)
	if e, _ := m["error"].(map[string]any); code != 404 || errCode(m) != "not_found" || e["message"] != "domain nope.example: not found; add it first with `mailgate domain add nope.example`" {
		t.Errorf("keygen for a domain we do not host: %d %v", code, m)
	}
	if m, err := s.srv.dkimKeys("").List(); err != nil || len(m) != 1 {
		t.Errorf("keys after the refusal: %v %v, want example.jp's only", m, err)
	}
	if code, m := s.api("DELETE", "/api/v1/domains/example.jp/dkim/s1", ops, ""); code != 409 || errCode(m) != "in_use" {
		t.Errorf("retiring the active key: %d %v", code, m)
	}
	if code, m := s.api("POST", "/api/v1/domains/example.jp/dkim/s2/activate", ops, ""); code != 200 || m["active"] != true {
		t.Errorf("activate: %d %v", code, m)
	}
	if code, m := s.api("POST", "/api/v1/domains/example.jp/dkim/nope/activate", ops, ""); code != 404 {
		t.Errorf("activate unknown: %d %v", code, m)
	}
	if code, m := s.api("DELETE", "/api/v1/domains/example.jp/dkim/s1", ops, ""); code != 204 {
		t.Errorf("retire: %d %v", code, m)
	}
	code, m = s.api("GET", "/api/v1/domains/example.jp/dkim", reader, "")
	if b, _ := json.Marshal(m); code != 200 || m["total"] != 1.0 || strings.Contains(string(b), "PRIVATE") {
		t.Errorf("list: %d %s", code, b)
	}
	log, _ := s.st.AuditLog(ctx, 1)
	if log[0].Actor != "api:keys" || log[0].Action != "dkim.retire" {
		t.Errorf("audit: %+v", log[0])
	}
	if sel, _, _ := s.srv.dkimKeys("").Active("example.jp"); sel != "s2" {
		t.Errorf("active selector %q, want s2", sel)
	}

	// DNS records: without [publish] outbound_ips there is no SPF to say.
	if code, m := s.api("GET", "/api/v1/domains/example.jp/dns", reader, ""); code != 503 || errCode(m) != "not_configured" {
		t.Errorf("records without outbound_ips: %d %v", code, m)
	}
	s.srv.cfg.Publish.OutboundIPs = []string{"192.0.2.1"}
	code, m = s.api("GET", "/api/v1/domains/example.jp/dns", reader, "")
	recs, _ := m["records"].([]any)
	var dkimRec map[string]any
	for _, r := range recs {
		if r := r.(map[string]any); r["name"] == "s2._domainkey.example.jp." {
			dkimRec = r
		}
	}
	if code != 200 || dkimRec == nil || dkimRec["type"] != "TXT" {
		t.Errorf("records: %d %v", code, m)
	}
	if code, m := s.api("GET", "/api/v1/domains/not%20a%20domain/dns", reader, ""); code != 400 || errCode(m) != "invalid" {
		t.Errorf("bad domain: %d %v", code, m)
	}
}

// TestOpenAPIDescribesEveryRoute: every endpoint the server routes is in
// openapi.json with its method, and the file describes none it does not.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	s := newSite(t, nil)
	b, err := files.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Security []map[string][]string `json:"security"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	described := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			described[strings.ToUpper(m)+" "+p] = true
		}
	}
	wild := regexp.MustCompile(`\{(\w+)\.\.\.\}`)
	for _, r := range s.srv.apiRouteTable() {
		method, path, _ := strings.Cut(r.pattern, " ")
		key := method + " " + wild.ReplaceAllString(strings.TrimPrefix(path, "/api/v1"), "{$1}")
		if !described[key] {
			t.Errorf("%s is not in openapi.json", key)
			continue
		}
		m, p, _ := strings.Cut(key, " ")
		sec := doc.Paths[p][strings.ToLower(m)].Security
		if len(sec) != 1 || len(sec[0]["bearer"]) != 1 || sec[0]["bearer"][0] != r.scope {
			t.Errorf("%s: openapi.json says security %v, the server wants scope %s", key, sec, r.scope)
		}
		delete(described, key)
	}
	for k := range described {
		t.Errorf("openapi.json describes %s, which the server does not route", k)
	}
	for _, sc := range store.APIScopes {
		if !strings.Contains(string(b), `"`+sc+`"`) {
			t.Errorf("scope %s is not in openapi.json", sc)
		}
	}
}

// apiBody is api with a Content-Type and a body that is not JSON.
func (s *site) apiBody(method, path, token, ctype, body string) (int, map[string]any) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.secure.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", ctype)
	resp, err := s.secure.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}
