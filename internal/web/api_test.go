package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailgate/internal/config"
	"mailgate/internal/mailbox"
	"mailgate/internal/spool"
	"mailgate/internal/store"
)

func (s *site) api(method, path, token, body string) (int, map[string]any) {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.secure.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.secure.Client().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if resp.StatusCode != http.StatusNoContent {
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			s.t.Fatalf("%s %s: Content-Type %q", method, path, ct)
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			s.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode, out
}

func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func TestAPIAuthScopesAndErrors(t *testing.T) {
	s := newSite(t, nil)
	ctx := context.Background()
	admin, _ := s.st.AddAPIToken(ctx, "test", "admin", []string{"read", "directory"})
	reader, _ := s.st.AddAPIToken(ctx, "test", "reader", []string{"read"})

	if code, m := s.api("GET", "/api/v1/domains", "", ""); code != 401 || errCode(m) != "unauthorized" {
		t.Errorf("no token: %d %v", code, m)
	}
	if code, m := s.api("GET", "/api/v1/domains", "nope", ""); code != 401 || errCode(m) != "unauthorized" {
		t.Errorf("bad token: %d %v", code, m)
	}
	if code, m := s.api("POST", "/api/v1/domains", reader, `{"name":"new.example"}`); code != 403 || errCode(m) != "forbidden" {
		t.Errorf("read token writing: %d %v", code, m)
	}
	code, m := s.api("POST", "/api/v1/domains", admin, `{"name":"New.Example"}`)
	if code != 201 {
		t.Fatalf("add domain: %d %v", code, m)
	}
	if code, m := s.api("POST", "/api/v1/domains", admin, `{"name":"new.example"}`); code != 409 || errCode(m) != "exists" {
		t.Errorf("duplicate domain: %d %v", code, m)
	}
	for _, body := range []string{`{"name":"bad domain"}`, `not json`, `{"name":"x.example","extra":1}`} {
		if code, m := s.api("POST", "/api/v1/domains", admin, body); code != 400 || (errCode(m) != "invalid" && errCode(m) != "bad_json") {
			t.Errorf("bad input %s: %d %v", body, code, m)
		}
	}
	if code, m := s.api("POST", "/api/v1/accounts", admin, `{"address":"hana@new.example","password":"short"}`); code != 400 || errCode(m) != "invalid" {
		t.Errorf("short password: %d %v", code, m)
	}
	if code, m := s.api("POST", "/api/v1/accounts", admin, `{"address":"hana@new.example","password":"long enough"}`); code != 201 || m["status"] != "active" {
		t.Errorf("add account: %d %v", code, m)
	}
	if code, m := s.api("PUT", "/api/v1/accounts/hana@new.example/status", admin, `{"status":"suspended","reason":"abuse desk ticket 42"}`); code != 200 || m["status"] != "suspended" {
		t.Errorf("suspend: %d %v", code, m)
	}
	if code, m := s.api("PUT", "/api/v1/accounts/hana@new.example/status", admin, `{"status":"sleeping","reason":"x"}`); code != 400 {
		t.Errorf("bad status: %d %v", code, m)
	}
	if code, m := s.api("POST", "/api/v1/aliases", admin, `{"alias":"h@new.example","account":"hana@new.example"}`); code != 201 {
		t.Errorf("add alias: %d %v", code, m)
	}
	if code, m := s.api("GET", "/api/v1/accounts/hana@new.example/aliases", reader, ""); code != 200 || m["total"] != 1.0 {
		t.Errorf("aliases: %d %v", code, m)
	}
	// A catch-all is an alias named "@domain", added and removed as one.
	if code, m := s.api("POST", "/api/v1/aliases", admin, `{"alias":"@New.Example","account":"hana@new.example"}`); code != 201 {
		t.Errorf("add catch-all: %d %v", code, m)
	}
	if code, m := s.api("POST", "/api/v1/aliases", admin, `{"alias":"@nowhere.example","account":"hana@new.example"}`); code != 404 || errCode(m) != "not_found" {
		t.Errorf("catch-all of an unhosted domain: %d %v", code, m)
	}
	if code, m := s.api("GET", "/api/v1/accounts/hana@new.example/aliases", reader, ""); code != 200 || m["total"] != 2.0 || m["items"].([]any)[0].(map[string]any)["address"] != "@new.example" {
		t.Errorf("aliases with the catch-all: %d %v", code, m)
	}
	if code, m := s.api("DELETE", "/api/v1/aliases/@new.example", admin, ""); code != 204 {
		t.Errorf("remove catch-all: %d %v", code, m)
	}
	if code, m := s.api("DELETE", "/api/v1/aliases/@new.example", admin, ""); code != 404 || errCode(m) != "not_found" {
		t.Errorf("remove a missing catch-all: %d %v", code, m)
	}
	if code, m := s.api("DELETE", "/api/v1/domains/new.example", admin, ""); code != 409 {
		t.Errorf("remove a domain with accounts: %d %v", code, m)
	}
	if code, m := s.api("GET", "/api/v1/accounts/nobody@new.example", reader, ""); code != 404 || errCode(m) != "not_found" {
		t.Errorf("unknown account: %d %v", code, m)
	}
	// Pagination: two domains, one per page.
	code, m = s.api("GET", "/api/v1/domains?limit=1", reader, "")
	if code != 200 || m["total"] != 2.0 || m["next_offset"] != 1.0 || len(m["items"].([]any)) != 1 {
		t.Errorf("page 1: %d %v", code, m)
	}
	if code, m = s.api("GET", "/api/v1/domains?limit=1&offset=1", reader, ""); code != 200 || m["next_offset"] != nil {
		t.Errorf("page 2: %d %v", code, m)
	}
	if code, _ = s.api("GET", "/api/v1/domains?limit=0", reader, ""); code != 400 {
		t.Errorf("limit=0: %d", code)
	}
	if code, m = s.api("GET", "/api/v1/nothing", reader, ""); code != 404 || errCode(m) != "not_found" {
		t.Errorf("unknown endpoint: %d %v", code, m)
	}
	log, _ := s.st.AuditLog(ctx, 1)
	if log[0].Actor != "api:admin" || log[0].Action != "alias.remove" || log[0].Subject != "@new.example" {
		t.Errorf("audit: %+v", log[0])
	}
	// Plain HTTP is refused: tokens are secrets.
	resp, _ := http.Get(s.plain.URL + "/api/v1/domains")
	if resp.StatusCode != 403 {
		t.Errorf("API over http: %d", resp.StatusCode)
	}
	if code, m = s.api("GET", "/api/v1/openapi.json", "", ""); code != 200 || m["openapi"] != "3.1.0" {
		t.Errorf("openapi: %d", code)
	}
}

func TestAPIQueueActions(t *testing.T) {
	s := newSite(t, nil)
	sp, err := spool.Open(filepath.Join(t.TempDir(), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	s.srv.spool = sp
	env := &spool.Envelope{ID: spool.NewID(), From: "taro@example.jp", To: []string{"x@remote.example"}, Received: time.Now(), Origin: "submission"}
	if err := sp.Put(env, []byte("Subject: hi\r\n\r\nhello\r\n")); err != nil {
		t.Fatal(err)
	}
	ops, _ := s.st.AddAPIToken(context.Background(), "test", "ops", []string{"read", "queue"})
	if code, m := s.api("GET", "/api/v1/queue", ops, ""); code != 200 || m["total"] != 1.0 {
		t.Fatalf("queue list: %d %v", code, m)
	}
	code, m := s.api("POST", "/api/v1/queue/"+env.ID+"/hold", ops, "")
	if st, _ := m["state"].(map[string]any); code != 200 || st["held"] != true {
		t.Fatalf("hold: %d %v", code, m)
	}
	code, m = s.api("POST", "/api/v1/queue/"+env.ID+"/release", ops, "")
	if st, _ := m["state"].(map[string]any); code != 200 || st["held"] != nil {
		t.Fatalf("release: %d %v", code, m)
	}
	if code, m = s.api("POST", "/api/v1/queue/"+env.ID+"/explode", ops, ""); code != 404 {
		t.Errorf("unknown action: %d %v", code, m)
	}
	if code, _ = s.api("DELETE", "/api/v1/queue/"+env.ID, ops, ""); code != 204 {
		t.Fatalf("remove: %d", code)
	}
	if code, m = s.api("GET", "/api/v1/queue/"+env.ID, ops, ""); code != 404 || errCode(m) != "not_found" {
		t.Errorf("removed message: %d %v", code, m)
	}
}

// TestAPIQueueBounce: bounce sends the sender one DSN and removes the
// message, as `mailgate queue bounce` does (delivery.ReturnToSender).
func TestAPIQueueBounce(t *testing.T) {
	s := newSite(t, nil)
	sp, err := spool.Open(filepath.Join(t.TempDir(), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	s.srv.spool = sp
	env := &spool.Envelope{ID: spool.NewID(), From: "taro@example.jp", To: []string{"x@remote.example"}, Received: time.Now(), Origin: "submission"}
	if err := sp.Put(env, []byte("Subject: hi\r\n\r\nhello\r\n")); err != nil {
		t.Fatal(err)
	}
	ops, _ := s.st.AddAPIToken(context.Background(), "test", "ops", []string{"read", "queue"})
	if code, m := s.api("POST", "/api/v1/queue/"+env.ID+"/bounce", ops, ""); code != 204 {
		t.Fatalf("bounce: %d %v", code, m)
	}
	ids, _ := sp.IDs()
	if len(ids) != 1 || ids[0] == env.ID {
		t.Fatalf("queue after bounce: %v, want only the DSN", ids)
	}
	m, err := sp.Open(ids[0])
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Envelope.From != "" || len(m.Envelope.To) != 1 || m.Envelope.To[0] != "taro@example.jp" {
		t.Fatalf("DSN envelope %+v", m.Envelope)
	}
	if code, m := s.api("POST", "/api/v1/queue/"+env.ID+"/bounce", ops, ""); code != 404 || errCode(m) != "not_found" {
		t.Errorf("bouncing it again: %d %v", code, m)
	}
}

// TestAPILimits: an account's daily limits read and set through the API,
// the same operation as `mailgate user limits` (store.SetLimitOverride).
func TestAPILimits(t *testing.T) {
	s := newSite(t, nil)
	admin, _ := s.st.AddAPIToken(context.Background(), "test", "admin", []string{"read", "directory"})
	code, m := s.api("GET", "/api/v1/accounts/taro@example.jp/limits", admin, "")
	lim, _ := m["limits"].(map[string]any)
	if code != 200 || lim["recipients_per_day"] != 1000.0 {
		t.Fatalf("limits: %d %v", code, m)
	}
	code, m = s.api("PUT", "/api/v1/accounts/taro@example.jp/limits", admin, `{"recipients_per_day": 20, "messages_per_day": null}`)
	lim, _ = m["limits"].(map[string]any)
	if code != 200 || lim["recipients_per_day"] != 20.0 || lim["messages_per_day"] != 500.0 {
		t.Fatalf("set limits: %d %v", code, m)
	}
	if code, m := s.api("PUT", "/api/v1/accounts/taro@example.jp/limits", admin, `{"recipients_per_day": -1}`); code != 400 || errCode(m) != "invalid" {
		t.Errorf("negative limit: %d %v", code, m)
	}
	if code, m := s.api("GET", "/api/v1/accounts/nobody@example.jp/limits", admin, ""); code != 404 {
		t.Errorf("unknown account: %d %v", code, m)
	}
}

// TestAPIEdge: pools, the "would this be blocked" check with its reasons,
// and the recorded attempts with the subscriber who held each source.
func TestAPIEdge(t *testing.T) {
	s := newSite(t, nil)
	ctx := context.Background()
	reader, _ := s.st.AddAPIToken(ctx, "test", "reader", []string{"read"})
	if _, err := s.st.AddPoolPrefixes(ctx, "test", "dyn", "dynamic", []string{"203.0.113.0/24"}); err != nil {
		t.Fatal(err)
	}
	if code, m := s.api("GET", "/api/v1/pools", reader, ""); code != 200 || m["total"] != 1.0 {
		t.Fatalf("pools: %d %v", code, m)
	}
	code, m := s.api("GET", "/api/v1/edge/check?src=203.0.113.9&dst=198.51.100.25", reader, "")
	if code != 200 || m["verdict"] != "block" || m["port"] != 25.0 {
		t.Fatalf("check dynamic -> 25: %d %v", code, m)
	}
	if code, m := s.api("GET", "/api/v1/edge/check?src=203.0.113.9&dst=198.51.100.25&port=587", reader, ""); code != 200 || m["verdict"] != "allow" {
		t.Fatalf("check dynamic -> 587: %d %v", code, m)
	}
	if code, m := s.api("GET", "/api/v1/edge/check?src=203.0.113.9&dst=2001:db8::1", reader, ""); code != 400 || errCode(m) != "invalid" {
		t.Fatalf("mixed families: %d %v", code, m)
	}
	now := time.Now()
	src := netip.MustParseAddr("203.0.113.9")
	if err := s.st.RecordAttempts(ctx, "r1", []store.AttemptRecord{{Source: src, Pool: "dyn", Attempts: 7, Destinations: 2, FirstSeen: now.Add(-time.Minute), LastSeen: now}}); err != nil {
		t.Fatal(err)
	}
	if err := s.st.RecordSessionStart(ctx, store.SubscriberSession{NAS: "bng", SessionID: "1", Username: "sub-9", IPv4: src, Start: now.Add(-time.Hour), Updated: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	code, m = s.api("GET", "/api/v1/edge/report", reader, "")
	items, _ := m["items"].([]any)
	if code != 200 || len(items) != 1 {
		t.Fatalf("report: %d %v", code, m)
	}
	if row := items[0].(map[string]any); row["source"] != "203.0.113.9" || row["attempts"] != 7.0 || row["subscriber"] != "sub-9" {
		t.Fatalf("report row %v", row)
	}
}

// TestAPIHugeOffset: an offset past the end, up to the largest int, is an
// empty page without a next_offset (offset+limit overflowed into one).
func TestAPIHugeOffset(t *testing.T) {
	s := newSite(t, nil)
	tok, _ := s.st.AddAPIToken(context.Background(), "test", "reader", []string{"read"})
	for _, off := range []string{"1", "9223372036854775807", "9223372036854775000"} {
		code, m := s.api("GET", "/api/v1/domains?offset="+off, tok, "")
		items, _ := m["items"].([]any)
		if _, next := m["next_offset"]; code != 200 || len(items) != 0 || next {
			t.Errorf("offset %s: %d %v, want 200, no items, no next_offset", off, code, m)
		}
	}
}

// TestAPIQuota: the account shows its quota and its Maildir's usage; PUT
// takes a size, octets, "unlimited" and "default", and refuses what the
// CLI refuses, with the parser's words.
func TestAPIQuota(t *testing.T) {
	dataDir := t.TempDir()
	s := newSite(t, func(c *config.Config) { c.DataDir = dataDir })
	s.st.SetDefaultMailboxQuota(4000)
	admin, _ := s.st.AddAPIToken(context.Background(), "test", "admin", []string{"read", "directory"})
	cur := filepath.Join(dataDir, "mail", "example.jp", "taro", "cur")
	if err := os.MkdirAll(cur, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cur, "1.a.host,S=1000:2,S"), make([]byte, 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	quota := func(m map[string]any) string {
		b, _ := json.Marshal(m["quota"])
		return string(b)
	}
	code, m := s.api("GET", "/api/v1/accounts/taro@example.jp", admin, "")
	if want := `{"bytes":4000,"own":false,"setting":"4000","usage":{"bytes":1000,"messages":1,"percent":25}}`; code != 200 || quota(m) != want {
		t.Fatalf("account: %d %s\nwant quota %s", code, quota(m), want)
	}
	for _, c := range []struct{ body, want string }{
		{`{"quota": "2KiB"}`, `{"bytes":2048,"own":true,"setting":"2KiB","usage":{"bytes":1000,"messages":1,"percent":48}}`},
		{`{"quota": 1000}`, `{"bytes":1000,"own":true,"setting":"1000","usage":{"bytes":1000,"messages":1,"percent":100}}`},
		{`{"quota": "unlimited"}`, `{"bytes":0,"own":true,"setting":"unlimited","usage":{"bytes":1000,"messages":1}}`},
		{`{"quota": "default"}`, `{"bytes":4000,"own":false,"setting":"4000","usage":{"bytes":1000,"messages":1,"percent":25}}`},
	} {
		code, m := s.api("PUT", "/api/v1/accounts/taro@example.jp/quota", admin, c.body)
		b, _ := json.Marshal(m)
		if code != 200 || string(b) != c.want {
			t.Errorf("PUT %s: %d %s\nwant %s", c.body, code, b, c.want)
		}
	}
	for _, c := range []struct {
		body, code string
		status     int
	}{
		{`{"quota": "2 parsecs"}`, "invalid", 400},
		{`{"quota": -5}`, "invalid", 400},
		{`{"quota": true}`, "bad_json", 400},
		{`{}`, "bad_json", 400},
		{`{"quota": "1G", "extra": 1}`, "bad_json", 400},
	} {
		code, m := s.api("PUT", "/api/v1/accounts/taro@example.jp/quota", admin, c.body)
		if code != c.status || errCode(m) != c.code {
			t.Errorf("PUT %s: %d %v, want %d %s", c.body, code, m, c.status, c.code)
		}
	}
	if code, m := s.api("PUT", "/api/v1/accounts/nobody@example.jp/quota", admin, `{"quota": "1G"}`); code != 404 {
		t.Errorf("unknown account: %d %v", code, m)
	}
	// "default" left the account without its own quota in the store.
	if got, own, _ := s.st.AccountQuota(context.Background(), "taro@example.jp"); got != 0 || own {
		t.Errorf("after default: %d own=%v", got, own)
	}
}

// TestQuotaPercent: rounded down, 100 only when full, no overflow for the
// largest sizes config.ParseByteSize gives.
func TestQuotaPercent(t *testing.T) {
	u := func(b int64) *mailbox.Usage { return &mailbox.Usage{Bytes: b} }
	for _, c := range []struct {
		q    quotaInfo
		want int
		warn bool
	}{
		{quotaInfo{Limit: 1000, Usage: u(899)}, 89, false},
		{quotaInfo{Limit: 1000, Usage: u(900)}, 90, true},
		{quotaInfo{Limit: 1000, Usage: u(999)}, 99, true},
		{quotaInfo{Limit: 1000, Usage: u(1000)}, 100, true},
		{quotaInfo{Limit: 1000, Usage: u(5000)}, 100, true},
		{quotaInfo{Limit: 1 << 62, Usage: u(1<<62 - 1<<55)}, 99, true},
		{quotaInfo{Limit: 0, Usage: u(5000)}, 0, false},
		{quotaInfo{Limit: 1000}, 0, false},
	} {
		if got := c.q.Percent(); got != c.want || c.q.Warn() != c.warn {
			t.Errorf("%+v of %d: %d%% warn=%v, want %d%% warn=%v", c.q.Usage, c.q.Limit, got, c.q.Warn(), c.want, c.warn)
		}
	}
}

// TestQuotaHomedElsewhere: in a fleet, a node without the account's
// Maildir gives the quota and names the home node in the API, reads no
// usage, and tells the subscriber on My account that webmail shows it
// (no node name).
func TestQuotaHomedElsewhere(t *testing.T) {
	s := newSite(t, func(c *config.Config) { c.DataDir = t.TempDir() })
	s.srv.MailHome = func(context.Context, string) (string, error) { return "node2.isp.example", nil }
	s.st.SetDefaultMailboxQuota(1 << 30)
	admin, _ := s.st.AddAPIToken(context.Background(), "test", "admin", []string{"read"})
	code, m := s.api("GET", "/api/v1/accounts/taro@example.jp/quota", admin, "")
	if b, _ := json.Marshal(m); code != 200 || string(b) != `{"bytes":1073741824,"home_node":"node2.isp.example","own":false,"setting":"1GiB"}` {
		t.Fatalf("quota homed elsewhere: %d %s", code, b)
	}
	c := s.client(s.secure)
	s.loginAs(c, "taro@example.jp", "correct horse")
	_, page := s.do(c, "GET", s.secure.URL+"/account?lang=en", nil, nil)
	if !strings.Contains(page, `<p id="quota-text">Storage limit 1.0 GB (webmail shows how much is used)</p>`) || strings.Contains(page, "node2") {
		t.Errorf("My account homed elsewhere:\n%s", page)
	}
}

// TestAPIPatchAccountQuota: PATCH on the account takes the quota as PUT
// .../quota does and answers with the account.
func TestAPIPatchAccountQuota(t *testing.T) {
	s := newSite(t, func(c *config.Config) { c.DataDir = t.TempDir() })
	admin, _ := s.st.AddAPIToken(context.Background(), "test", "admin", []string{"read", "directory"})
	code, m := s.api("PATCH", "/api/v1/accounts/taro@example.jp", admin, `{"quota": "500MB"}`)
	q, _ := m["quota"].(map[string]any)
	if code != 200 || m["address"] != "taro@example.jp" || q["bytes"] != 500e6 || q["own"] != true {
		t.Fatalf("PATCH: %d %v", code, m)
	}
	if code, m := s.api("PATCH", "/api/v1/accounts/taro@example.jp", admin, `{"status": "suspended"}`); code != 400 || errCode(m) != "bad_json" {
		t.Errorf("PATCH of another field: %d %v", code, m)
	}
}

// TestAPIQuotaLoweredWarns: a quota lowered through the API under taro's
// usage stores one warning in his INBOX, as the CLI's does
// (quotawarn.SetQuota): 1000 octets of 4000 (25 %), then of 1200 (83 %);
// PATCH to the same quota stores no second one.
func TestAPIQuotaLoweredWarns(t *testing.T) {
	dataDir := t.TempDir()
	s := newSite(t, func(c *config.Config) { c.DataDir = dataDir; c.Mailbox.QuotaWarnings = []int{80, 95} })
	s.st.SetDefaultMailboxQuota(4000)
	admin, _ := s.st.AddAPIToken(context.Background(), "test", "admin", []string{"read", "directory"})
	box := filepath.Join(dataDir, "mail", "example.jp", "taro")
	if err := mailbox.EnsureDefaults(box); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(box, "cur", "1.a.host,S=1000:2,S"), make([]byte, 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	notices := func() []string {
		files, _ := filepath.Glob(filepath.Join(box, "new", "*quota-*"))
		return files
	}
	if code, m := s.api("PUT", "/api/v1/accounts/taro@example.jp/quota", admin, `{"quota": 1200}`); code != 200 {
		t.Fatalf("PUT: %d %v", code, m)
	}
	got := notices()
	if len(got) != 1 || !strings.Contains(got[0], "quota-80") {
		t.Fatalf("notices after 25 %% → 83 %%: %q, want one for 80 %%", got)
	}
	if code, m := s.api("PATCH", "/api/v1/accounts/taro@example.jp", admin, `{"quota": 1200}`); code != 200 {
		t.Fatalf("PATCH: %d %v", code, m)
	}
	if got := notices(); len(got) != 1 {
		t.Fatalf("notices after the same quota again: %q, want the first only", got)
	}
}
