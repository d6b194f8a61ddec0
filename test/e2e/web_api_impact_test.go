package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// impactCounts are the counts of an edge impact JSON answer.
type impactCounts struct {
	Flows, TCP25 uint64
	Malformed    int
	Now          struct{ Blocked, Sources, Destinations uint64 }
	Then         *struct{ Blocked, Sources, Destinations uint64 }
	ToBlocked    *struct{ Flows, Sources uint64 } `json:"to_blocked"`
	TopThen      []struct {
		Source, Pool string
		Flows        uint64
	}
}

func parseImpact(t *testing.T, body string) impactCounts {
	t.Helper()
	var c impactCounts
	var raw struct {
		Then *struct {
			Top json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(body), &c); err != nil {
		t.Fatalf("impact JSON: %v\n%s", err, body)
	}
	json.Unmarshal([]byte(body), &raw)
	if raw.Then != nil {
		json.Unmarshal(raw.Then.Top, &c.TopThen)
	}
	return c
}

// TestWebAPIEdgeImpactCurl: a flow file posted with curl to
// /api/v1/edge/impact is replayed against the policy the CLI made, and
// its what-if of the query: the exact counts, the same as `mailgate edge
// impact --json` gives for the file; the token needs the edge scope; a
// bad what-if is a 400 saying what to do.
func TestWebAPIEdgeImpactCurl(t *testing.T) {
	NeedTool(t, "curl")
	n := webNode(t, "")
	n.Start()
	api := "https://" + n.Addr("https") + "/api/v1/edge/impact"
	ops := strings.TrimSpace(n.MustCLI("", "api", "token", "add", "noc", "--scope", "read,edge"))
	reader := strings.TrimSpace(n.MustCLI("", "api", "token", "add", "monitor", "--scope", "read"))
	n.MustCLI("", "pool", "add", "dyn-east", "--kind", "dynamic", "10.10.0.0/16", "2001:db8:10::/48")
	n.MustCLI("", "edge", "carrier", "add", "docomo", "203.0.113.0/24")
	n.MustCLI("", "edge", "exempt", "add", "10.10.7.7", "--reason", "moved to fixed-IP plan")
	n.MustCLI("", "edge", "scope", "carriers")

	flows := filepath.Join(t.TempDir(), "day.txt")
	os.WriteFile(flows, []byte("# src dst [port]\n"+
		"10.10.0.5 203.0.113.9\n10.10.0.5 203.0.113.9\n10.10.0.5 203.0.113.10 25\n"+ // carrier-bound: blocked now
		"10.10.0.6 198.51.100.1\n2001:db8:10::9 2001:db8:ffff::25\n"+ // blocked in phase 2
		"10.10.7.7 203.0.113.9\n"+ // exempt now, not then
		"172.16.0.1 203.0.113.9\n10.10.0.7 203.0.113.9 587\n"+ // in no pool; submission
		"10.10.0.5\n"), 0o600) // malformed
	post := func(tok, query string) (int, string) {
		return curl(t, "-H", "Authorization: Bearer "+tok, "-H", "Content-Type: text/plain", "--data-binary", "@"+flows, api+query)
	}

	if code, resp := post(reader, ""); code != 403 || !strings.Contains(resp, "this token lacks the edge scope: an operator makes one that has it with `mailgate api token add NAME --scope edge`") {
		t.Errorf("read token: %d\n%s", code, resp)
	}
	code, resp := post(ops, "?scope=all&unexempt=10.10.7.7&top=1")
	if code != 200 || header(resp, "Content-Type") != "application/json" {
		t.Fatalf("impact: %d\n%s", code, resp)
	}
	_, body, _ := strings.Cut(resp, "\r\n\r\n")
	got := parseImpact(t, body)
	if got.Flows != 8 || got.TCP25 != 7 || got.Malformed != 1 ||
		got.Now.Blocked != 3 || got.Now.Sources != 1 || got.Now.Destinations != 2 ||
		got.Then == nil || got.Then.Blocked != 6 || got.Then.Sources != 4 || got.Then.Destinations != 4 ||
		got.ToBlocked == nil || got.ToBlocked.Flows != 3 || got.ToBlocked.Sources != 3 ||
		len(got.TopThen) != 1 || got.TopThen[0].Source != "10.10.0.5" || got.TopThen[0].Flows != 3 || got.TopThen[0].Pool != "dyn-east" {
		t.Errorf("impact counts %+v\n%s", got, body)
	}
	cli := parseImpact(t, n.MustCLI("", "edge", "impact", flows, "--scope", "all", "--unexempt", "10.10.7.7", "--top", "1", "--json", "--resolve=false"))
	if g, c := mustJSON(got), mustJSON(cli); g != c {
		t.Errorf("the API's counts differ from the CLI's:\nAPI %s\nCLI %s", g, c)
	}

	for _, tc := range []struct{ query, want string }{
		{"?at=next+week", `at: date/time \"next week\": want 2006-01-02`},
		{"?unexempt=10.10.9.9", `unexempt: 10.10.9.9/32 is not an exemption (see edge exempt list)`},
		{"?scope=phase2", `scope: \"phase2\": want all or carriers`},
	} {
		if code, resp := post(ops, tc.query); code != 400 || !strings.Contains(resp, `"code": "invalid"`) || !strings.Contains(resp, tc.want) {
			t.Errorf("%s: %d, want 400 saying %s\n%s", tc.query, code, tc.want, resp)
		}
	}
	code, resp = curl(t, "-H", "Authorization: Bearer "+ops, "-H", "Content-Type: text/csv", "--data-binary", "ts,te,td,sa,da\n", api)
	if code != 400 || !strings.Contains(resp, "body: line 1: ") {
		t.Errorf("nfdump header without dp: %d\n%s", code, resp)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestWebAPIEdgeImpactPoolsAndCarrierDomains: the API replays with the
// CLI's what-ifs through the same code: a pool file posted with curl -F
// (the --pools what-if: 10.10.5.0/24 moved to a static plan), and carrier
// domains resolved with the node's [dns] servers (au.test's MX is
// 198.51.100.25, so flows to it are carrier-bound in phase 1; gone.test
// does not resolve and is a warning). resolve=false counts by prefixes
// only. Each answer is the CLI's for the same file and flags, and the
// console's form (posted by curl) shows the same counts.
func TestWebAPIEdgeImpactPoolsAndCarrierDomains(t *testing.T) {
	NeedTool(t, "curl")
	d := startDNS(t, "au.test. 60 IN MX 10 mx.au.test.", "mx.au.test. 60 IN A 198.51.100.25")
	n := webNode(t, fmt.Sprintf("[dns]\nservers = [%q]\ntimeout = \"2s\"\n", d.Addr))
	n.Start()
	api := "https://" + n.Addr("https") + "/api/v1/edge/impact"
	ops := strings.TrimSpace(n.MustCLI("", "api", "token", "add", "noc", "--scope", "read,edge"))
	n.MustCLI("", "pool", "add", "dyn-east", "--kind", "dynamic", "10.10.0.0/16")
	n.MustCLI("", "edge", "carrier", "add", "au", "au.test")
	n.MustCLI("", "edge", "carrier", "add", "gone", "gone.test")
	n.MustCLI("", "edge", "scope", "carriers")

	dir := t.TempDir()
	flows, plan := filepath.Join(dir, "day.txt"), filepath.Join(dir, "plan.csv")
	os.WriteFile(flows, []byte("10.10.0.5 198.51.100.25\n10.10.0.5 198.51.100.25\n"+ // to au.test's MX
		"10.10.5.9 198.51.100.25\n"+ // the same, from the block the plan makes static
		"10.10.0.6 192.0.2.80\n"), 0o600) // to no carrier
	os.WriteFile(plan, []byte("pool,kind,prefix\nfixed-plan,static,10.10.5.0/24\n"), 0o600)

	replay := func(args ...string) impactCounts {
		t.Helper()
		code, resp := curl(t, append([]string{"-H", "Authorization: Bearer " + ops}, args...)...)
		if code != 200 {
			t.Fatalf("impact %v: %d\n%s", args, code, resp)
		}
		_, body, _ := strings.Cut(resp, "\r\n\r\n")
		return parseImpact(t, body)
	}
	warnings := func(body string) []string {
		var w struct{ Warnings []string }
		json.Unmarshal([]byte(body), &w)
		return w.Warnings
	}

	got := replay("-F", "flows=@"+flows, "-F", "pools=@"+plan, api)
	if got.Flows != 4 || got.Now.Blocked != 3 || got.Now.Sources != 2 || got.Then == nil || got.Then.Blocked != 2 || got.Then.Sources != 1 {
		t.Errorf("with the plan, resolved: %+v", got)
	}
	cliOut := n.MustCLI("", "edge", "impact", flows, "--pools", plan, "--json")
	if g, c := mustJSON(got), mustJSON(parseImpact(t, cliOut)); g != c {
		t.Errorf("the API's counts differ from the CLI's:\nAPI %s\nCLI %s", g, c)
	}
	if w := warnings(cliOut); len(w) != 1 || !strings.Contains(w[0], "carrier gone domain gone.test") {
		t.Errorf("CLI warnings %q, want gone.test's", w)
	}
	code, resp := curl(t, "-H", "Authorization: Bearer "+ops, "-F", "flows=@"+flows, api)
	if _, body, _ := strings.Cut(resp, "\r\n\r\n"); code != 200 || len(warnings(body)) != 1 || !strings.Contains(warnings(body)[0], "gone.test") {
		t.Errorf("API warnings: %d\n%s", code, resp)
	}

	unresolved := replay("-F", "flows=@"+flows, "-F", "resolve=false", api)
	if unresolved.Now.Blocked != 0 || unresolved.Then != nil {
		t.Errorf("resolve=false: %+v, want nothing blocked (au.test has no prefixes)", unresolved)
	}
	if g, c := mustJSON(unresolved), mustJSON(parseImpact(t, n.MustCLI("", "edge", "impact", flows, "--resolve=false", "--json"))); g != c {
		t.Errorf("resolve=false: the API's counts differ from the CLI's:\nAPI %s\nCLI %s", g, c)
	}

	// The console's form, posted by curl as a browser posts it, replays
	// the same way: the plan, resolved carriers, and its warning.
	n.AddUser("admin@example.jp", "operator-secret-1")
	https := "https://" + n.Addr("https")
	op := curlLogin(t, https, "admin@example.jp", "operator-secret-1")
	code, page := curl(t, "-b", op.jar, "-H", "Accept-Language: en", "-F", "csrf="+op.token, "-F", "flows=@"+flows, "-F", "pools=@"+plan, "-F", "resolve=true", "-F", "nfdump-tz=UTC", https+"/console/edge/impact")
	for _, want := range []string{
		`<td id="now">3 flows blocked, 2 sources, 1 destinations</td>`,
		`<td id="then">2 flows blocked, 1 sources, 1 destinations</td>`,
		`<td id="toallowed">1 flows from 1 sources</td>`,
		`<td id="warnings">carrier gone domain gone.test: `,
	} {
		if code != 200 || !strings.Contains(page, want) {
			t.Errorf("console: %d, the page lacks %q\n%s", code, want, page)
		}
	}

	os.WriteFile(plan, []byte("pool,kind,prefix\nfixed-plan,static,10.10.5.0/33\n"), 0o600)
	code, resp = curl(t, "-H", "Authorization: Bearer "+ops, "-F", "flows=@"+flows, "-F", "pools=@"+plan, api)
	if code != 400 || !strings.Contains(resp, `"code": "invalid"`) || !strings.Contains(resp, "pools: row 1: ") {
		t.Errorf("a bad pool file: %d\n%s", code, resp)
	}
	if out, err := n.CLI("", "edge", "impact", flows, "--pools", plan); err == nil || !strings.Contains(out, "--pools "+plan+": row 1: ") {
		t.Errorf("CLI, a bad pool file: %v\n%s", err, out)
	}
}
