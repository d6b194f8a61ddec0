package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailgate/internal/config"
	"mailgate/internal/store"
)

// untranslated finds a text key shown as itself (Lang.T's fallback).
var untranslated = regexp.MustCompile(`con\.[a-z]`)

// lastAudit is the newest audit record.
func (s *site) lastAudit() store.AuditEntry {
	s.t.Helper()
	log, err := s.st.AuditLog(context.Background(), 1)
	if err != nil || len(log) == 0 {
		s.t.Fatalf("audit log: %v %v", log, err)
	}
	return log[0]
}

// TestConsoleEdgeRelays: relays added and removed in the console are the
// store's (AddRelays, RemoveRelay) with its rules and its audit as the
// console user; a form without the CSRF token changes nothing.
func TestConsoleEdgeRelays(t *testing.T) {
	s := newSite(t, func(c *config.Config) { c.Web.Operators = []string{"admin@example.jp"} })
	ctx := context.Background()
	op, tok := s.operatorClient()
	post := func(path string, v url.Values) (*http.Response, string) {
		return s.do(op, "POST", s.secure.URL+path, v, nil)
	}
	if resp, _ := post("/console/edge/relays", url.Values{"prefixes": {"192.0.2.25"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("add relay without CSRF token: %d", resp.StatusCode)
	}
	if rs, _ := s.st.Relays(ctx); len(rs) != 0 {
		t.Errorf("a refused form added %v", rs)
	}
	resp, page := post("/console/edge/relays", url.Values{"csrf": {tok}, "prefixes": {"192.0.2.1/24"}})
	if resp.StatusCode != 400 || !strings.Contains(page, "host bits set; write the network 192.0.2.0/24, or the address 192.0.2.1 alone") {
		t.Errorf("host bits: %d\n%s", resp.StatusCode, page)
	}
	if resp, page := post("/console/edge/relays", url.Values{"csrf": {tok}, "prefixes": {" "}}); resp.StatusCode != 400 || !strings.Contains(page, "give the relays&#39; addresses or prefixes") {
		t.Errorf("no relay: %d\n%s", resp.StatusCode, page)
	}
	resp, page = post("/console/edge/relays", url.Values{"csrf": {tok}, "prefixes": {"192.0.2.25, 2001:db8:25::/64"}})
	if resp.StatusCode != 200 || !strings.Contains(page, `id="done">relays added: 192.0.2.25, 2001:db8:25::/64<`) ||
		!strings.Contains(page, `<tr id="relay-192.0.2.25/32"><td><code>192.0.2.25/32</code>`) || !strings.Contains(page, "<code>2001:db8:25::/64</code>") {
		t.Fatalf("add relays: %d\n%s", resp.StatusCode, page)
	}
	if rs, _ := s.st.Relays(ctx); len(rs) != 2 {
		t.Errorf("store has %v", rs)
	}
	if a := s.lastAudit(); a.Actor != "web:admin@example.jp" || a.Action != "edge.relay.add" {
		t.Errorf("audit %+v", a)
	}
	if resp, _ := post("/console/edge/relays/remove", url.Values{"prefix": {"192.0.2.25/32"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("remove relay without CSRF token: %d", resp.StatusCode)
	}
	resp, page = post("/console/edge/relays/remove", url.Values{"csrf": {tok}, "prefix": {"192.0.2.25/32"}})
	if rs, _ := s.st.Relays(ctx); resp.StatusCode != 200 || len(rs) != 1 || !strings.Contains(page, "relay 192.0.2.25/32 removed") {
		t.Errorf("remove relay: %d %v\n%s", resp.StatusCode, rs, page)
	}
	if a := s.lastAudit(); a.Actor != "web:admin@example.jp" || a.Action != "edge.relay.remove" || a.Subject != "192.0.2.25/32" {
		t.Errorf("audit %+v", a)
	}
	if resp, page := post("/console/edge/relays/remove", url.Values{"csrf": {tok}, "prefix": {"192.0.2.25/32"}}); resp.StatusCode != 404 || !strings.Contains(page, `id="error"`) {
		t.Errorf("remove a relay twice: %d", resp.StatusCode)
	}
	// The page speaks Japanese too, its messages included, and shows no
	// text key untranslated.
	_, page = s.do(op, "POST", s.secure.URL+"/console/edge/relays", url.Values{"csrf": {tok}, "prefixes": {"192.0.2.26"}}, map[string]string{"Accept-Language": "ja"})
	if !strings.Contains(page, `id="done">中継サーバを追加しました: 192.0.2.26<`) || !strings.Contains(page, "自社の中継サーバ") || !strings.Contains(page, "携帯キャリア宛てのみ（第 1 段階）") || untranslated.MatchString(page) {
		t.Errorf("Japanese page:\n%s", page)
	}
}

// TestConsoleEdgeCarriers: carrier sets of prefixes and mail domains,
// added and removed (an entry, then the set) with the store's rules and
// audit; without the CSRF token nothing changes.
func TestConsoleEdgeCarriers(t *testing.T) {
	s := newSite(t, func(c *config.Config) { c.Web.Operators = []string{"admin@example.jp"} })
	ctx := context.Background()
	op, tok := s.operatorClient()
	post := func(path string, v url.Values) (*http.Response, string) {
		return s.do(op, "POST", s.secure.URL+path, v, nil)
	}
	if resp, _ := post("/console/edge/carriers", url.Values{"name": {"docomo"}, "entries": {"198.51.100.0/24"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("add carrier without CSRF token: %d", resp.StatusCode)
	}
	resp, page := post("/console/edge/carriers", url.Values{"csrf": {tok}, "name": {"docomo"}, "entries": {"198.51.100.7/24"}})
	if resp.StatusCode != 400 || !strings.Contains(page, "host bits set; write the network 198.51.100.0/24") {
		t.Errorf("host bits: %d\n%s", resp.StatusCode, page)
	}
	resp, page = post("/console/edge/carriers", url.Values{"csrf": {tok}, "name": {"docomo"}, "entries": {"198.51.100.300"}})
	if resp.StatusCode != 400 || !strings.Contains(page, "numeric top-level label") {
		t.Errorf("mistyped address: %d\n%s", resp.StatusCode, page)
	}
	if resp, page := post("/console/edge/carriers", url.Values{"csrf": {tok}, "name": {"do como"}, "entries": {"docomo.ne.jp"}}); resp.StatusCode != 400 || !strings.Contains(page, "without spaces") {
		t.Errorf("bad name: %d\n%s", resp.StatusCode, page)
	}
	if cs, _ := s.st.Carriers(ctx); len(cs) != 0 {
		t.Errorf("refused forms added %v", cs)
	}
	resp, page = post("/console/edge/carriers", url.Values{"csrf": {tok}, "name": {"docomo"}, "entries": {"198.51.100.0/24\r\nDoCoMo.ne.jp."}})
	if resp.StatusCode != 200 || !strings.Contains(page, "carrier docomo: added") || !strings.Contains(page, `<tr id="carrier-docomo">`) ||
		!strings.Contains(page, "<code>docomo.ne.jp</code> <span class=\"muted\">domain (its MX hosts)</span>") {
		t.Fatalf("add carrier: %d\n%s", resp.StatusCode, page)
	}
	if a := s.lastAudit(); a.Actor != "web:admin@example.jp" || a.Action != "edge.carrier.add" || a.Subject != "docomo" {
		t.Errorf("audit %+v", a)
	}
	resp, page = post("/console/edge/carriers/remove", url.Values{"csrf": {tok}, "name": {"docomo"}, "entry": {"docomo.ne.jp"}})
	if cs, _ := s.st.Carriers(ctx); resp.StatusCode != 200 || len(cs) != 1 || !strings.Contains(page, "docomo.ne.jp removed from carrier docomo") {
		t.Errorf("remove entry: %d %v", resp.StatusCode, cs)
	}
	if a := s.lastAudit(); a.Action != "edge.carrier.remove" || a.Detail != "docomo.ne.jp" {
		t.Errorf("audit %+v", a)
	}
	if resp, _ := post("/console/edge/carriers/remove", url.Values{"name": {"docomo"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("remove carrier without CSRF token: %d", resp.StatusCode)
	}
	resp, _ = post("/console/edge/carriers/remove", url.Values{"csrf": {tok}, "name": {"docomo"}})
	if cs, _ := s.st.Carriers(ctx); resp.StatusCode != 200 || len(cs) != 0 {
		t.Errorf("remove carrier: %d %v", resp.StatusCode, cs)
	}
	if resp, _ := post("/console/edge/carriers/remove", url.Values{"csrf": {tok}, "name": {"docomo"}}); resp.StatusCode != 404 {
		t.Errorf("remove a carrier twice: %d", resp.StatusCode)
	}
}

// TestConsoleEdgeScopeAction: the scope set now and at a date shows in
// the page's timeline (edge.PlanTimeline) with its state, a scheduled
// change is cancelled, the action is chosen; bad values get the store's
// and ParseWhen's errors; every change is audited as the console user.
func TestConsoleEdgeScopeAction(t *testing.T) {
	s := newSite(t, func(c *config.Config) { c.Web.Operators = []string{"admin@example.jp"} })
	ctx := context.Background()
	op, tok := s.operatorClient()
	post := func(path string, v url.Values) (*http.Response, string) {
		return s.do(op, "POST", s.secure.URL+path, v, nil)
	}
	_, page := s.do(op, "GET", s.secure.URL+"/console/edge", nil, nil)
	if !strings.Contains(page, `id="defaulted"`) || !strings.Contains(page, `value="reset" id="action-reset" checked`) {
		t.Errorf("a fresh policy:\n%s", page)
	}
	// The summary at the top speaks the page's language, not the
	// policy's keywords.
	if !strings.Contains(page, `<p class="box" id="plan">In force: all destinations (phase 2). A blocked attempt gets TCP RST:`) {
		t.Errorf("English summary:\n%s", page)
	}
	_, ja := s.do(op, "GET", s.secure.URL+"/console/edge", nil, map[string]string{"Accept-Language": "ja"})
	if !strings.Contains(ja, `<p class="box" id="plan">現在の規制範囲: すべての宛先（第 2 段階）。ブロック時の動作: TCP RST。`) {
		t.Errorf("Japanese summary:\n%s", ja)
	}
	if resp, _ := post("/console/edge/scope", url.Values{"scope": {"carriers"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("set scope without CSRF token: %d", resp.StatusCode)
	}
	if sc, _ := s.st.Schedule(ctx); len(sc) != 0 {
		t.Errorf("a refused form scheduled %v", sc)
	}
	resp, page := post("/console/edge/scope", url.Values{"csrf": {tok}, "scope": {"phase1"}})
	if resp.StatusCode != 400 || !strings.Contains(page, "want all or carriers") {
		t.Errorf("bad scope: %d\n%s", resp.StatusCode, page)
	}
	resp, page = post("/console/edge/scope", url.Values{"csrf": {tok}, "scope": {"all"}, "from": {"next april"}})
	if resp.StatusCode != 400 || !strings.Contains(page, "from: date/time &#34;next april&#34;: want 2006-01-02") {
		t.Errorf("bad date: %d\n%s", resp.StatusCode, page)
	}
	resp, page = post("/console/edge/scope", url.Values{"csrf": {tok}, "scope": {"carriers"}})
	if resp.StatusCode != 200 || !strings.Contains(page, "scope now carrier sets only (phase 1)") || !strings.Contains(page, `data-state="in force"`) {
		t.Fatalf("scope now: %d\n%s", resp.StatusCode, page)
	}
	if a := s.lastAudit(); a.Actor != "web:admin@example.jp" || a.Action != "edge.scope" || a.Subject != "carriers" {
		t.Errorf("audit %+v", a)
	}
	resp, page = post("/console/edge/scope", url.Values{"csrf": {tok}, "scope": {"all"}, "from": {"2099-04-01 09:00"}})
	from := time.Date(2099, 4, 1, 9, 0, 0, 0, time.Local)
	if resp.StatusCode != 200 || !strings.Contains(page, "scope all destinations (phase 2) from "+from.Format("2006-01-02 15:04 MST")) ||
		!strings.Contains(page, `data-state="upcoming"><td>`+from.Format("2006-01-02 15:04 MST")) ||
		!strings.Contains(page, "Next change: "+from.Format("2006-01-02 15:04 MST")) {
		t.Fatalf("dated scope: %d\n%s", resp.StatusCode, page)
	}
	if sc, _ := s.st.Schedule(ctx); len(sc) != 2 || !sc[1].From.Equal(from) || sc[1].Scope != store.ScopeAll {
		t.Errorf("schedule %v", sc)
	}
	if m := untranslated.FindString(page); m != "" {
		t.Errorf("untranslated %q in\n%s", m, page)
	}
	if a := s.lastAudit(); a.Action != "edge.scope" || a.Detail != "from "+from.UTC().Format(time.RFC3339) {
		t.Errorf("audit %+v", a)
	}
	if resp, _ := post("/console/edge/scope/remove", url.Values{"from": {from.UTC().Format(time.RFC3339)}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cancel without CSRF token: %d", resp.StatusCode)
	}
	resp, page = post("/console/edge/scope/remove", url.Values{"csrf": {tok}, "from": {from.UTC().Format(time.RFC3339)}})
	if sc, _ := s.st.Schedule(ctx); resp.StatusCode != 200 || len(sc) != 1 || strings.Contains(page, `data-state="upcoming"`) {
		t.Errorf("cancel: %d %v\n%s", resp.StatusCode, sc, page)
	}
	if a := s.lastAudit(); a.Action != "edge.scope.remove" || a.Subject != from.UTC().Format(time.RFC3339) {
		t.Errorf("audit %+v", a)
	}
	if resp, _ := post("/console/edge/scope/remove", url.Values{"csrf": {tok}, "from": {from.UTC().Format(time.RFC3339)}}); resp.StatusCode != 404 {
		t.Errorf("cancel twice: %d", resp.StatusCode)
	}

	if resp, _ := post("/console/edge/action", url.Values{"action": {"drop"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("set action without CSRF token: %d", resp.StatusCode)
	}
	resp, page = post("/console/edge/action", url.Values{"csrf": {tok}, "action": {"reject"}})
	if resp.StatusCode != 400 || !strings.Contains(page, "want reset, drop or icmp") {
		t.Errorf("bad action: %d\n%s", resp.StatusCode, page)
	}
	resp, page = post("/console/edge/action", url.Values{"csrf": {tok}, "action": {"drop"}})
	if a, _ := s.st.Action(ctx); resp.StatusCode != 200 || a != store.ActionDrop || !strings.Contains(page, `value="drop" id="action-drop" checked`) {
		t.Errorf("set action: %d %s\n%s", resp.StatusCode, a, page)
	}
	if a := s.lastAudit(); a.Actor != "web:admin@example.jp" || a.Action != "edge.action" || a.Subject != "drop" {
		t.Errorf("audit %+v", a)
	}
}
