package edge

import (
	"net/netip"
	"testing"
	"time"

	"mailgate/internal/store"
)

// TestPlanTimeline: what `edge plan` and the API's /edge/plan say: the
// change in force, the one to come, an expiring exemption, the next change.
func TestPlanTimeline(t *testing.T) {
	now := time.Date(2026, 4, 10, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-24*time.Hour), now.Add(48*time.Hour)
	expiry := now.Add(time.Hour)
	snap := &store.EdgeSnapshot{
		Prefixes:   []store.PoolPrefix{{Pool: "dyn", Kind: store.PoolDynamic, Prefix: netip.MustParsePrefix("203.0.113.0/24")}},
		Exemptions: []store.Exemption{{Prefix: netip.MustParsePrefix("203.0.113.9/32"), Reason: "ticket 1", Until: expiry}},
		Schedule:   []store.ScopeChange{{From: past, Scope: store.ScopeCarriers}, {From: future, Scope: store.ScopeAll}},
		Action:     store.ActionDrop,
	}
	tl := PlanTimeline(Compile(snap, nil, now))
	if tl.Scope != store.ScopeCarriers || tl.Phase != "phase 1" || tl.Action != store.ActionDrop || tl.Defaulted {
		t.Errorf("now: %+v", tl)
	}
	if len(tl.Changes) != 2 || tl.Changes[0].State != "in force" || tl.Changes[1].State != "upcoming" {
		t.Errorf("changes %+v", tl.Changes)
	}
	if len(tl.Expiring) != 1 || tl.Expiring[0].Prefix != "203.0.113.9/32" {
		t.Errorf("expiring %+v", tl.Expiring)
	}
	if tl.NextChange == nil || !tl.NextChange.Equal(expiry) {
		t.Errorf("next change %v, want the expiry %v", tl.NextChange, expiry)
	}
	if d := PlanTimeline(Compile(&store.EdgeSnapshot{}, nil, now)); !d.Defaulted || d.Scope != store.ScopeAll || d.NextChange != nil {
		t.Errorf("empty policy: %+v", d)
	}
}

// TestCheckPools: `pool check` and /edge/pool-check: a static prefix
// inside a dynamic one, and an exemption outside dynamic space.
func TestCheckPools(t *testing.T) {
	ps := []store.PoolPrefix{
		{Pool: "dyn", Kind: store.PoolDynamic, Prefix: netip.MustParsePrefix("203.0.113.0/24")},
		{Pool: "fixed", Kind: store.PoolStatic, Prefix: netip.MustParsePrefix("203.0.113.16/28")},
		{Pool: "dyn6", Kind: store.PoolDynamic, Prefix: netip.MustParsePrefix("2001:db8::/32")},
	}
	es := []store.Exemption{
		{Prefix: netip.MustParsePrefix("203.0.113.9/32")},
		{Prefix: netip.MustParsePrefix("2001:db8::9/128")},
		{Prefix: netip.MustParsePrefix("192.0.2.1/32")},    // in no pool
		{Prefix: netip.MustParsePrefix("203.0.113.17/32")}, // static: no effect
	}
	c := CheckPools(ps, es)
	if c.Prefixes != 3 || len(c.Overlaps) != 1 || c.Overlaps[0].Inner.Pool != "fixed" {
		t.Errorf("overlaps %+v", c)
	}
	if len(c.Idle) != 2 || c.Idle[0].Prefix.String() != "192.0.2.1/32" || c.Idle[1].Prefix.String() != "203.0.113.17/32" {
		t.Errorf("idle %+v", c.Idle)
	}
}
