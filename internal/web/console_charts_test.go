package web

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailgate/internal/config"
	"mailgate/internal/password"
	"mailgate/internal/store"
)

// TestConsoleChartsShowFleetNumbers: what two nodes and an edge router
// wrote to the store is on the charts page, summed, as SVG bars with the
// numbers in words and tables; the page is operators only.
func TestConsoleChartsShowFleetNumbers(t *testing.T) {
	s := newSite(t, func(c *config.Config) { c.Web.Operators = []string{"admin@example.jp"} })
	ctx := context.Background()
	h, _ := password.Hash("operator pw")
	s.st.AddAccount(ctx, "test", "admin@example.jp", h)
	now := time.Now()
	for node, n := range map[string]int64{"mx1": 2, "mx2": 5} {
		if err := s.st.RecordNodeStats(ctx, node, now, []store.StatSample{
			{Series: "in.mx", Value: n}, {Series: "out.delivered", Value: 1},
			{Series: "reject.5.1.1", Value: n}, {Series: "reject.5.7.23", Value: 1},
			{Series: store.StatQueue, Value: n, Peak: true},
		}); err != nil {
			t.Fatal(err)
		}
	}
	src := netip.MustParseAddr("192.0.2.55")
	if err := s.st.RecordAttempts(ctx, "edge1", []store.AttemptRecord{{Source: src, Pool: "dyn-east", Attempts: 4, FirstSeen: now, LastSeen: now}}); err != nil {
		t.Fatal(err)
	}

	anon := s.client(s.secure)
	if resp, _ := s.do(anon, "GET", s.secure.URL+"/console/charts", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("/console/charts without login: %d, want 303 to the login", resp.StatusCode)
	}
	op := s.client(s.secure)
	_, page := s.do(op, "GET", s.secure.URL+"/login", nil, nil)
	s.do(op, "POST", s.secure.URL+"/login", url.Values{"csrf": {formToken(t, page)}, "user": {"admin@example.jp"}, "password": {"operator pw"}}, nil)
	resp, page := s.do(op, "GET", s.secure.URL+"/console/charts?lang=en", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("charts: %d\n%s", resp.StatusCode, page)
	}
	hour := now.UTC().Truncate(time.Hour).Format("15:04")
	for _, want := range []string{
		`MX (port 25): <strong class="total">7</strong>`,
		`delivered: <strong class="total">2</strong>`,
		`queued: <strong class="total">7</strong>`, // each node's peak, summed
		`blocked: <strong class="total">4</strong>`,
		"<title>" + hour + " UTC, MX (port 25): 7</title>",
		"<title>192.0.2.55 dyn-east: 4</title>",
		"<td><code>5.1.1</code></td><td>no such mailbox</td><td class=\"n\">7</td>",
		"<td><code>5.7.23</code></td><td>SPF validation failed</td><td class=\"n\">2</td>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("charts page lacks %q", want)
		}
	}
	// The most frequent reason comes first.
	if i, j := strings.Index(page, "5.1.1</code>"), strings.Index(page, "5.7.23</code>"); i < 0 || j < i {
		t.Errorf("refusals not most frequent first")
	}
	// No inline style or script: the CSP forbids both.
	if regexp.MustCompile(`(?i)<script|\sstyle=`).MatchString(page) {
		t.Error("the charts page has a script or an inline style")
	}
}

func TestNiceCeil(t *testing.T) {
	for in, want := range map[int64]int64{0: 1, 1: 1, 2: 2, 3: 5, 7: 10, 10: 10, 11: 20, 180: 200, 501: 1000} {
		if got := niceCeil(in); got != want {
			t.Errorf("niceCeil(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestRefusalReason(t *testing.T) {
	l := Lang{"en"}
	for code, want := range map[string]string{"5.1.1": "no such mailbox", "4.7.0": "refused by policy", "5.7.99": "security or policy", "5.9.1": "", "x": ""} {
		if got := refusalReason(l, code); got != want {
			t.Errorf("refusalReason(%q) = %q, want %q", code, got, want)
		}
	}
}
