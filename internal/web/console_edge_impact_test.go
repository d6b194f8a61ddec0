package web

import (
	"net/http"
	"strings"
	"testing"

	"mailgate/internal/config"
)

// postImpact posts the what-if form with flows as the file (none when
// flows is "-").
func (s *site) postImpact(c *http.Client, fields map[string]string, flows string) (*http.Response, string) {
	s.t.Helper()
	if flows == "-" {
		return s.postMultipart(c, "/console/edge/impact", fields)
	}
	return s.postMultipart(c, "/console/edge/impact", fields, upload{"flows", "day.txt", flows})
}

// TestConsoleEdgeImpact: the what-if page replays an uploaded flow file
// as the API does (the same counts), for operators only, with the CSRF
// token, and changes nothing.
func TestConsoleEdgeImpact(t *testing.T) {
	s := newSite(t, func(c *config.Config) { c.Web.Operators = []string{"admin@example.jp"} })
	impactPolicy(t, s.st)
	sub := s.client(s.secure)
	s.login(sub, "correct horse")
	if resp, _ := s.do(sub, "GET", s.secure.URL+"/console/edge/impact", nil, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a subscriber on the what-if page: %d", resp.StatusCode)
	}
	op, tok := s.operatorClient()
	if _, page := s.do(op, "GET", s.secure.URL+"/console/edge", nil, nil); !strings.Contains(page, `href="/console/edge/impact"`) {
		t.Errorf("the edge page does not link the what-if page")
	}
	resp, page := s.do(op, "GET", s.secure.URL+"/console/edge/impact", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `enctype="multipart/form-data"`) || strings.Contains(page, `id="impactsummary"`) {
		t.Fatalf("what-if page: %d\n%s", resp.StatusCode, page)
	}
	if resp, _ := s.postImpact(op, map[string]string{"scope": "all"}, impactFlows); resp.StatusCode != http.StatusForbidden {
		t.Errorf("without the CSRF token: %d", resp.StatusCode)
	}
	if resp, _ := s.postImpact(op, map[string]string{"csrf": strings.Repeat("A", 43), "scope": "all"}, impactFlows); resp.StatusCode != http.StatusForbidden {
		t.Errorf("with a wrong CSRF token: %d", resp.StatusCode)
	}
	v0, _ := s.st.EdgeVersion(t.Context())
	resp, page = s.postImpact(op, map[string]string{"csrf": tok, "scope": "all", "unexempt": "10.10.7.7", "top": "5"}, impactFlows)
	if resp.StatusCode != 200 {
		t.Fatalf("replay: %d\n%s", resp.StatusCode, page)
	}
	for _, want := range []string{
		`<td id="flows">6</td>`, `<td id="tcp25">5</td>`, `<td id="malformed">1<br><span class="muted">line 8: `,
		`<td id="now">3 flows blocked, 1 sources, 2 destinations</td>`,
		`<td id="then">5 flows blocked, 3 sources, 3 destinations</td>`,
		`<td id="toblocked">2 flows from 2 sources</td>`, `<td id="toallowed">0 flows from 0 sources</td>`,
		`Top blocked sources (then)`, `<tr class="source" data-source="10.10.0.5"><td><code>10.10.0.5</code></td><td>3</td><td>2</td><td>dyn</td><td>-</td>`,
		`value="10.10.7.7"`, // the form keeps its what-if
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the result lacks %q\n%s", want, page)
		}
	}
	if v, _ := s.st.EdgeVersion(t.Context()); v != v0 {
		t.Errorf("the replay changed the edge version %d -> %d", v0, v)
	}

	for _, tc := range []struct {
		fields      map[string]string
		flows, want string
		status      int
	}{
		{map[string]string{"csrf": tok, "at": "tomorrow"}, impactFlows, `at: date/time &#34;tomorrow&#34;: want 2006-01-02`, 400},
		{map[string]string{"csrf": tok, "unexempt": "10.10.9.9"}, impactFlows, "unexempt: 10.10.9.9/32 is not an exemption", 400},
		{map[string]string{"csrf": tok, "nfdump-tz": "+25:00"}, impactFlows, "nfdump-tz: &#34;&#43;25:00&#34;: want an offset", 400},
		{map[string]string{"csrf": tok}, "hello world\n", "flow file: line 1: neither an nfdump CSV header", 400},
		{map[string]string{"csrf": tok}, "-", "choose a flow file", 400},
	} {
		resp, page := s.postImpact(op, tc.fields, tc.flows)
		if resp.StatusCode != tc.status || !strings.Contains(page, tc.want) || strings.Contains(page, `id="impactsummary"`) {
			t.Errorf("%v: %d, want %d saying %q\n%s", tc.fields, resp.StatusCode, tc.status, tc.want, page)
		}
	}
	// Over 16 MiB: refused with why, nothing replayed; the form's cap
	// (the file's and 64 KiB) as well.
	big := strings.Repeat("10.10.0.5 203.0.113.9\n", impactBodyLimit/22+1)
	if resp, page := s.postImpact(op, map[string]string{"csrf": tok}, big); resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(page, "the flow file is over 16 MiB") {
		t.Errorf("16 MiB and 22 bytes: %d", resp.StatusCode)
	}
	big += strings.Repeat("10.10.0.5 203.0.113.9\n", 64<<10/22+1)
	if resp, page := s.postImpact(op, map[string]string{"csrf": tok}, big); resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(page, "the flow file is over 16 MiB") {
		t.Errorf("17 MiB: %d", resp.StatusCode)
	}
}

// TestConsoleEdgeImpactPools: the what-if page takes the CLI's --pools
// (an uploaded pool file) and --resolve: 10.10.0.5 moved to a static pool
// is allowed then, as the API counts it; the form keeps resolve; a bad
// pool file is a 400 naming it.
func TestConsoleEdgeImpactPools(t *testing.T) {
	s := newSite(t, func(c *config.Config) { c.Web.Operators = []string{"admin@example.jp"} })
	impactPolicy(t, s.st)
	op, tok := s.operatorClient()
	resp, page := s.do(op, "GET", s.secure.URL+"/console/edge/impact", nil, nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `<input type="file" name="pools"`) || !strings.Contains(page, `<select name="resolve"`) ||
		!strings.Contains(page, `name="nfdump-tz" id="impacttz" value="UTC"`) {
		t.Fatalf("what-if page: %d\n%s", resp.StatusCode, page)
	}
	plan := upload{"pools", "plan.csv", "pool,kind,prefix\nfixed-plan,static,10.10.0.5/32\n"}
	resp, page = s.postMultipart(op, "/console/edge/impact", map[string]string{"csrf": tok, "resolve": "false"}, upload{"flows", "day.txt", impactFlows}, plan)
	for _, want := range []string{
		`<td id="now">3 flows blocked, 1 sources, 2 destinations</td>`,
		`<td id="then">0 flows blocked, 0 sources, 0 destinations</td>`,
		`<td id="toallowed">3 flows from 1 sources</td>`,
		`<option value="false" selected>`,
	} {
		if resp.StatusCode != 200 || !strings.Contains(page, want) {
			t.Errorf("%d: the result lacks %q\n%s", resp.StatusCode, want, page)
		}
	}
	plan.data = "pool,kind,prefix\nfixed-plan,sometimes,10.10.0.5/32\n"
	resp, page = s.postMultipart(op, "/console/edge/impact", map[string]string{"csrf": tok}, upload{"flows", "day.txt", impactFlows}, plan)
	if resp.StatusCode != 400 || !strings.Contains(page, "pools: row 1: ") || strings.Contains(page, `id="impactsummary"`) {
		t.Errorf("a bad pool file: %d\n%s", resp.StatusCode, page)
	}
}
