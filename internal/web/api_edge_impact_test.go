package web

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"mailgate/internal/edge"
	"mailgate/internal/store"
)

// impactFlows: three carrier-bound flows of 10.10.0.5 (blocked in phase
// 1), one of 10.10.0.6 to a non-carrier (blocked in phase 2 only), one of
// the exempted 10.10.7.7, one to 587 (never filtered).
const impactFlows = "# src dst [port]\n" +
	"10.10.0.5 203.0.113.9\n10.10.0.5 203.0.113.9\n10.10.0.5 203.0.113.10\n" +
	"10.10.0.6 198.51.100.1\n10.10.7.7 203.0.113.9\n10.10.0.7 203.0.113.9 587\n" +
	"not a flow\n"

// impactPolicy makes the phase-1 policy impactFlows is replayed against.
func impactPolicy(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	if _, err := st.AddPoolPrefixes(ctx, "test", "dyn", "dynamic", []string{"10.10.0.0/16"}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddCarrierEntries(ctx, "test", "docomo", []string{"203.0.113.0/24"}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddExemption(ctx, "test", "10.10.7.7", "fixed-IP plan", time.Time{}, store.ExemptLimit{}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetScope(ctx, "test", store.ScopeCarriers, time.Time{}); err != nil {
		t.Fatal(err)
	}
}

func TestAPIEdgeImpact(t *testing.T) {
	s := newSite(t, nil)
	ctx := context.Background()
	impactPolicy(t, s.st)
	ops, _ := s.st.AddAPIToken(ctx, "test", "ops", []string{"read", "edge"})
	reader, _ := s.st.AddAPIToken(ctx, "test", "reader", []string{"read"})

	if code, m := s.apiBody("POST", "/api/v1/edge/impact", reader, "text/plain", impactFlows); code != 403 || errCode(m) != "forbidden" {
		t.Errorf("read token: %d %v", code, m)
	}

	// The counts are ReplayImpact's for the same flows and policies.
	snap, err := s.st.EdgeSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now := edge.Compile(snap, nil, time.Now())
	then, err := edge.WhatIf(snap, nil, time.Now(), edge.PolicyChange{Scope: "all", DropExemptions: []netip.Prefix{netip.MustParsePrefix("10.10.7.7/32")}})
	if err != nil {
		t.Fatal(err)
	}
	want, err := edge.ReplayImpact(edge.NewFlowReader(strings.NewReader(impactFlows)), now, then, edge.ImpactOptions{Top: 20})
	if err != nil {
		t.Fatal(err)
	}
	code, m := s.apiBody("POST", "/api/v1/edge/impact?scope=all&unexempt=10.10.7.7", ops, "text/plain", impactFlows)
	if code != 200 {
		t.Fatalf("impact: %d %v", code, m)
	}
	nowSide, _ := m["now"].(map[string]any)
	thenSide, _ := m["then"].(map[string]any)
	toB, _ := m["to_blocked"].(map[string]any)
	for _, c := range []struct {
		name string
		got  any
		want uint64
	}{
		{"flows", m["flows"], want.Flows}, {"tcp25", m["tcp25"], want.TCP25}, {"malformed", m["malformed"], uint64(want.Malformed)},
		{"now.blocked", nowSide["blocked"], want.Now.Blocked}, {"now.sources", nowSide["sources"], uint64(want.Now.Sources)},
		{"then.blocked", thenSide["blocked"], want.Then.Blocked}, {"then.sources", thenSide["sources"], uint64(want.Then.Sources)},
		{"to_blocked.flows", toB["flows"], want.ToBlocked.Flows},
	} {
		if c.got != float64(c.want) {
			t.Errorf("%s = %v, ReplayImpact says %d", c.name, c.got, c.want)
		}
	}
	// And those are, by hand: 7 lines, 6 flows, 5 to TCP/25; 3 blocked
	// now (carrier-bound), 5 then (all scope, 10.10.7.7 unexempted).
	if want.Flows != 6 || want.TCP25 != 5 || want.Malformed != 1 || want.Now.Blocked != 3 || want.Then.Blocked != 5 || want.ToBlocked.Flows != 2 {
		t.Errorf("ReplayImpact: %+v", want)
	}
	top, _ := nowSide["top"].([]any)
	if len(top) != 1 || top[0].(map[string]any)["source"] != "10.10.0.5" || top[0].(map[string]any)["pool"] != "dyn" {
		t.Errorf("now.top %v", top)
	}

	// No what-if: no then.
	if code, m := s.apiBody("POST", "/api/v1/edge/impact?top=0", ops, "text/csv", impactFlows); code != 200 || m["then"] != nil || m["to_blocked"] != nil {
		t.Errorf("no what-if: %d %v", code, m)
	}

	for _, tc := range []struct{ query, body, want string }{
		{"at=tomorrow", impactFlows, "at: date/time \"tomorrow\": want 2006-01-02"},
		{"scope=phase2", impactFlows, `scope: "phase2": want all or carriers`},
		{"unexempt=10.10.9.9", impactFlows, "unexempt: 10.10.9.9/32 is not an exemption (see edge exempt list)"},
		{"exempt=10.1.2.3/8", impactFlows, "exempt: "},
		{"top=many", impactFlows, "top: want 0..1000"},
		{"nfdump-tz=Mars/Olympus", impactFlows, `nfdump-tz: "Mars/Olympus": want UTC, an offset +09:00 or a zone name`},
		{"", "ts,te,td,sa\n", "body: line 1: "},
		{"", "hello world\n", "body: line 1: neither an nfdump CSV header"},
	} {
		code, m := s.apiBody("POST", "/api/v1/edge/impact?"+tc.query, ops, "text/plain", tc.body)
		e, _ := m["error"].(map[string]any)
		if msg, _ := e["message"].(string); code != 400 || errCode(m) != "invalid" || !strings.Contains(msg, tc.want) {
			t.Errorf("%s %q: %d %v, want 400 saying %q", tc.query, tc.body, code, m, tc.want)
		}
	}

	// Over 16 MiB: refused, not replayed.
	big := strings.Repeat("10.10.0.5 203.0.113.9\n", impactBodyLimit/22+1)
	if code, m := s.apiBody("POST", "/api/v1/edge/impact", ops, "text/plain", big); code != 413 || errCode(m) != "too_large" {
		t.Errorf("17 MiB: %d %v", code, m)
	}
}

// TestAPIEdgeImpactPools: the API takes the CLI's --pools what-if as a
// multipart body (flows and pools parts, the what-if as fields or in the
// query): 10.10.0.5 moved to a static pool (CSV or TOML, by the file's
// name, as pool import reads it) is allowed then; the counts are
// ReplayImpact's under WhatIf with those pools. A bad pool file and a bad
// resolve are 400s naming them.
func TestAPIEdgeImpactPools(t *testing.T) {
	s := newSite(t, nil)
	ctx := context.Background()
	impactPolicy(t, s.st)
	ops, _ := s.st.AddAPIToken(ctx, "test", "ops", []string{"read", "edge"})
	snap, err := s.st.EdgeSnapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	moved := []store.PoolPrefix{{Pool: "fixed-plan", Kind: store.PoolStatic, Prefix: netip.MustParsePrefix("10.10.0.5/32")}}
	then, err := edge.WhatIf(snap, nil, time.Now(), edge.PolicyChange{Pools: moved})
	if err != nil {
		t.Fatal(err)
	}
	want, err := edge.ReplayImpact(edge.NewFlowReader(strings.NewReader(impactFlows)), edge.Compile(snap, nil, time.Now()), then, edge.ImpactOptions{Top: 20})
	if err != nil {
		t.Fatal(err)
	}
	if want.Then.Blocked != 0 || want.ToAllowed.Flows != 3 {
		t.Fatalf("ReplayImpact: then %+v, to allowed %+v; want the 3 carrier-bound flows of 10.10.0.5 allowed", want.Then, want.ToAllowed)
	}
	for _, tc := range []struct {
		query  string
		fields map[string]string
		pools  upload
	}{
		{"", map[string]string{"top": "3"}, upload{"pools", "plan.csv", "pool,kind,prefix\nfixed-plan,static,10.10.0.5/32\n"}},
		{"?top=3", nil, upload{"pools", "plan.toml", "[[pool]]\nname = \"fixed-plan\"\nkind = \"static\"\nprefixes = [\"10.10.0.5\"]\n"}},
	} {
		body, ctype := multipartBody(tc.fields, upload{"flows", "day.txt", impactFlows}, tc.pools)
		code, m := s.apiBody("POST", "/api/v1/edge/impact"+tc.query, ops, ctype, body)
		thenSide, _ := m["then"].(map[string]any)
		toA, _ := m["to_allowed"].(map[string]any)
		if code != 200 || thenSide["blocked"] != float64(0) || toA["flows"] != float64(want.ToAllowed.Flows) || toA["sources"] != float64(want.ToAllowed.Sources) ||
			m["flows"] != float64(want.Flows) || len(toA["top"].([]any)) != 1 {
			t.Errorf("%s: %d %v, want then.blocked 0 and %d flows to allowed", tc.pools.name, code, m, want.ToAllowed.Flows)
		}
	}
	for _, tc := range []struct {
		query, want string
		files       []upload
	}{
		{"", "pools: row 1: ", []upload{{"flows", "day.txt", impactFlows}, {"pools", "plan.csv", "pool,kind,prefix\nfixed-plan,sometimes,10.10.0.5/32\n"}}},
		{"", "pools: no pool prefixes in the file", []upload{{"flows", "day.txt", impactFlows}, {"pools", "plan.csv", "pool,kind,prefix\n"}}},
		{"", "flows: the multipart body needs the flow file", []upload{{"pools", "plan.csv", "pool,kind,prefix\nfixed-plan,static,10.10.0.5/32\n"}}},
		{"?resolve=maybe", "resolve: want true or false", []upload{{"flows", "day.txt", impactFlows}}},
	} {
		body, ctype := multipartBody(nil, tc.files...)
		code, m := s.apiBody("POST", "/api/v1/edge/impact"+tc.query, ops, ctype, body)
		e, _ := m["error"].(map[string]any)
		if msg, _ := e["message"].(string); code != 400 || errCode(m) != "invalid" || !strings.Contains(msg, tc.want) {
			t.Errorf("%s %v: %d %v, want 400 saying %q", tc.query, tc.files, code, m, tc.want)
		}
	}
}
