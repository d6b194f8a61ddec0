package edge

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"mailgate/internal/store"
)

// randomImpactPolicy is a policy over 10.0.0.0/16 and 2001:db8::/48:
// dynamic and static pools, exemptions, relays and carriers in phase 1
// now, phase 2 from t0+48h.
func randomImpactPolicy(rng *rand.Rand) *store.EdgeSnapshot {
	snap := &store.EdgeSnapshot{Action: store.ActionReset, Schedule: []store.ScopeChange{
		{From: t0, Scope: store.ScopeCarriers}, {From: t0.Add(48 * time.Hour), Scope: store.ScopeAll}}}
	seen := map[netip.Prefix]bool{}
	for i := range 40 {
		pf := netip.PrefixFrom(addr4(0x0a000000|rng.Uint32N(1<<16)), 18+rng.IntN(11)).Masked()
		if i%4 == 0 {
			pf = netip.MustParsePrefix(fmt.Sprintf("2001:db8:0:%x::/%d", rng.IntN(16), 60+rng.IntN(5))).Masked()
		}
		if seen[pf] {
			continue
		}
		seen[pf] = true
		kind := store.PoolDynamic
		if rng.IntN(4) == 0 {
			kind = store.PoolStatic
		}
		snap.Prefixes = append(snap.Prefixes, store.PoolPrefix{Pool: fmt.Sprintf("pool%d", i%5), Kind: kind, Prefix: pf})
	}
	for range 10 {
		a := addr4(0x0a000000 | rng.Uint32N(1<<16))
		snap.Exemptions = append(snap.Exemptions, store.Exemption{Prefix: netip.PrefixFrom(a, 30+rng.IntN(3)).Masked(), Reason: "test"})
	}
	snap.Exemptions = append(snap.Exemptions, store.Exemption{Prefix: netip.MustParsePrefix("10.0.0.0/20"), Reason: "until", Until: t0.Add(24 * time.Hour)})
	snap.Relays = []store.Relay{{Prefix: netip.MustParsePrefix("192.0.2.0/28")}, {Prefix: netip.MustParsePrefix("2001:db8:25::/64")}}
	snap.Carriers = []store.CarrierEntry{{Name: "c1", Kind: store.CarrierPrefix, Entry: "203.0.113.0/25"},
		{Name: "c2", Kind: store.CarrierPrefix, Entry: "2001:db8:c::/48"}}
	return snap
}

// randomFlows are flows from the pools' space (and beyond it) to relays,
// carriers and elsewhere, with ports 25, 587 and 465, a few non-TCP.
func randomFlows(rng *rand.Rand, n int) []Flow {
	dst4 := []string{"192.0.2.%d", "203.0.113.%d", "198.51.100.%d"}
	dst6 := []string{"2001:db8:25::%x", "2001:db8:c::%x", "2001:db8:ff::%x"}
	var fs []Flow
	for range n {
		f := Flow{TCP: rng.IntN(50) != 0, Port: 25}
		switch rng.IntN(10) {
		case 0:
			f.Port = 587
		case 1:
			f.Port = 465
		}
		if rng.IntN(4) == 0 {
			f.Src = netip.MustParseAddr(fmt.Sprintf("2001:db8:0:%x::%x", rng.IntN(17), rng.IntN(4)))
			f.Dst = netip.MustParseAddr(fmt.Sprintf(dst6[rng.IntN(3)], rng.IntN(200)))
		} else {
			f.Src = addr4(0x0a000000 | rng.Uint32N(1<<16) | rng.Uint32N(2)<<16)
			f.Dst = netip.MustParseAddr(fmt.Sprintf(dst4[rng.IntN(3)], rng.IntN(200)))
		}
		fs = append(fs, f)
	}
	return fs
}

// flowLines writes flows in the plain form, non-TCP ones left out (the
// plain form is TCP only), with a few malformed lines.
func flowLines(fs []Flow) (text string, kept []Flow, bad int) {
	var b strings.Builder
	for i, f := range fs {
		if !f.TCP {
			continue
		}
		kept = append(kept, f)
		fmt.Fprintf(&b, "%s %s %d\n", f.Src, f.Dst, f.Port)
		if i%1000 == 0 {
			b.WriteString("not-an-address 192.0.2.1\n")
			bad++
		}
	}
	return b.String(), kept, bad
}

// TestReplayImpactAgreesWithEvaluate replays random flows (more than a
// chunk) through ReplayImpact, which decides with DecideBatch, and
// counts the same flows one by one with Evaluate, for the policy now and
// the what-if ones (a later date, a scope override).
func TestReplayImpactAgreesWithEvaluate(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 587))
	for round := range 3 {
		snap := randomImpactPolicy(rng)
		text, fs, bad := flowLines(randomFlows(rng, 3*impactChunk+rng.IntN(1000)))
		now := Compile(snap, nil, t0.Add(time.Hour))
		later, _ := WhatIf(snap, nil, t0.Add(72*time.Hour), PolicyChange{})
		all, _ := WhatIf(snap, nil, t0.Add(time.Hour), PolicyChange{Scope: store.ScopeAll})
		moved, err := WhatIf(snap, nil, t0.Add(time.Hour), PolicyChange{
			Pools:          []store.PoolPrefix{{Pool: "new", Kind: store.PoolDynamic, Prefix: netip.MustParsePrefix("10.1.0.0/16")}, {Pool: "fixed", Kind: store.PoolStatic, Prefix: snap.Prefixes[1].Prefix}},
			DropExemptions: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/20")},
			AddExemptions:  []netip.Prefix{snap.Prefixes[2].Prefix},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, then := range []*Policy{nil, later, all, moved} {
			im, err := ReplayImpact(NewFlowReader(strings.NewReader(text)), now, then, ImpactOptions{Top: 3})
			if err != nil {
				t.Fatal(err)
			}
			want := countImpact(fs, now, then)
			got := fmt.Sprintf("flows %d tcp25 %d now %d/%d/%d", im.Flows, im.TCP25, im.Now.Blocked, im.Now.Sources, im.Now.Destinations)
			if then != nil {
				got += fmt.Sprintf(" then %d/%d/%d to-blocked %d/%d to-allowed %d/%d", im.Then.Blocked, im.Then.Sources, im.Then.Destinations,
					im.ToBlocked.Flows, im.ToBlocked.Sources, im.ToAllowed.Flows, im.ToAllowed.Sources)
			}
			if got != want {
				t.Errorf("round %d: ReplayImpact %s\n              Evaluate %s", round, got, want)
			}
			if im.Now.Blocked == 0 || (then != nil && im.ToBlocked.Flows == 0) {
				t.Errorf("round %d: nothing blocked or changed: the test proves little (%s)", round, got)
			}
			if im.Malformed != bad {
				t.Errorf("round %d: %d malformed, want %d", round, im.Malformed, bad)
			}
			checkTop(t, im.Now.Top, fs, now, nil)
			if then != nil {
				checkTop(t, im.ToBlocked.Top, fs, now, then)
			}
		}
	}
}

// countImpact is ReplayImpact's summary computed flow by flow with the
// slow path.
func countImpact(fs []Flow, now, then *Policy) string {
	type side struct {
		flows      int
		srcs, dsts map[netip.Addr]bool
	}
	mk := func() *side { return &side{srcs: map[netip.Addr]bool{}, dsts: map[netip.Addr]bool{}} }
	n, th, toB, toA := mk(), mk(), mk(), mk()
	add := func(s *side, f Flow) { s.flows++; s.srcs[f.Src] = true; s.dsts[f.Dst] = true }
	tcp25 := 0
	for _, f := range fs {
		if f.Port == 25 {
			tcp25++
		}
		bn := now.Evaluate(f.Src, f.Dst, f.Port).Block
		if bn {
			add(n, f)
		}
		if then == nil {
			continue
		}
		bt := then.Evaluate(f.Src, f.Dst, f.Port).Block
		if bt {
			add(th, f)
		}
		if !bn && bt {
			add(toB, f)
		}
		if bn && !bt {
			add(toA, f)
		}
	}
	out := fmt.Sprintf("flows %d tcp25 %d now %d/%d/%d", len(fs), tcp25, n.flows, len(n.srcs), len(n.dsts))
	if then != nil {
		out += fmt.Sprintf(" then %d/%d/%d to-blocked %d/%d to-allowed %d/%d", th.flows, len(th.srcs), len(th.dsts),
			toB.flows, len(toB.srcs), toA.flows, len(toA.srcs))
	}
	return out
}

// checkTop holds a top list to a count by hand: the sources with the most
// flows blocked by then (and, if before is given, allowed by it), in
// order, each with the reasons Check gives for its example flow.
func checkTop(t *testing.T, rows []SourceRow, fs []Flow, before, then *Policy) {
	t.Helper()
	p := before
	if then != nil {
		p = then
	}
	count := map[netip.Addr]uint64{}
	for _, f := range fs {
		if !p.Evaluate(f.Src, f.Dst, f.Port).Block || (then != nil && before.Evaluate(f.Src, f.Dst, f.Port).Block) {
			continue
		}
		count[f.Src]++
	}
	var srcs []netip.Addr
	for a := range count {
		srcs = append(srcs, a)
	}
	slices.SortFunc(srcs, func(a, b netip.Addr) int {
		if count[a] != count[b] {
			return int(count[b]) - int(count[a])
		}
		return a.Compare(b)
	})
	if len(rows) != min(3, len(srcs)) {
		t.Fatalf("%d top rows, want %d", len(rows), min(3, len(srcs)))
	}
	for i, r := range rows {
		if r.Source != srcs[i] || r.Flows != count[srcs[i]] {
			t.Errorf("top %d: %s %d, want %s %d", i, r.Source, r.Flows, srcs[i], count[srcs[i]])
		}
		block, reasons := p.Check(r.Source, r.Example, 25)
		if !block || !slices.Equal(reasons, r.Reasons) || reasons[len(reasons)-1] != "action reset" {
			t.Errorf("top %d: reasons %q, Check %v %q", i, r.Reasons, block, reasons)
		}
		if pool, _, _, _ := p.Lookup(r.Source); r.Pool != pool || r.Subscriber != "-" {
			t.Errorf("top %d: pool %q subscriber %q, want %q -", i, r.Pool, r.Subscriber, pool)
		}
	}
}

// TestWhatIfChanges: the scope override takes effect at the what-if moment
// and drops no later scheduled change; without one, WhatIf is Compile; pool
// prefixes are added or moved, exemptions dropped or added, snap untouched.
func TestWhatIfChanges(t *testing.T) {
	snap := &store.EdgeSnapshot{Schedule: []store.ScopeChange{{From: t0, Scope: store.ScopeCarriers}, {From: t0.Add(48 * time.Hour), Scope: store.ScopeAll}}}
	at := t0.Add(time.Hour)
	p, _ := WhatIf(snap, nil, at, PolicyChange{Scope: store.ScopeAll})
	if p.Scope != store.ScopeAll || !p.ScopeSet.Equal(at) || !p.NextChange().Equal(t0.Add(48*time.Hour)) {
		t.Errorf("override: scope %s set %v next %v", p.Scope, p.ScopeSet, p.NextChange())
	}
	if p, _ := WhatIf(snap, nil, at, PolicyChange{}); p.Scope != store.ScopeCarriers || !p.ScopeSet.Equal(t0) {
		t.Errorf("no override: scope %s set %v", p.Scope, p.ScopeSet)
	}
	if p, _ := WhatIf(snap, nil, t0.Add(72*time.Hour), PolicyChange{}); p.Scope != store.ScopeAll {
		t.Errorf("later: scope %s", p.Scope)
	}
	if len(snap.Schedule) != 2 || snap.Schedule[0].Scope != store.ScopeCarriers {
		t.Errorf("the snapshot's schedule was changed: %v", snap.Schedule)
	}

	// Pools moved and added, exemptions dropped and added.
	snap.Prefixes = []store.PoolPrefix{{Pool: "dyn", Kind: store.PoolDynamic, Prefix: netip.MustParsePrefix("10.0.0.0/16")}}
	snap.Exemptions = []store.Exemption{{Prefix: netip.MustParsePrefix("10.0.0.7/32"), Reason: "fixed plan"}}
	src, dst := netip.MustParseAddr("10.0.0.7"), netip.MustParseAddr("198.51.100.1")
	if p, _ := WhatIf(snap, nil, t0.Add(72*time.Hour), PolicyChange{}); p.Decide(src, dst, 25) != Allow {
		t.Error("exempt source blocked")
	}
	p, err := WhatIf(snap, nil, t0.Add(72*time.Hour), PolicyChange{DropExemptions: []netip.Prefix{netip.MustParsePrefix("10.0.0.7/32")},
		Pools: []store.PoolPrefix{{Pool: "new", Kind: store.PoolDynamic, Prefix: netip.MustParsePrefix("10.9.0.0/16")}}})
	if err != nil || p.Decide(src, dst, 25) != Block || p.Decide(netip.MustParseAddr("10.9.1.1"), dst, 25) != Block {
		t.Errorf("exemption dropped, pool added: %v", err)
	}
	p, _ = WhatIf(snap, nil, t0.Add(72*time.Hour), PolicyChange{Pools: []store.PoolPrefix{{Pool: "fixed", Kind: store.PoolStatic, Prefix: netip.MustParsePrefix("10.0.0.0/16")}},
		AddExemptions: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}})
	if pool, _, dyn, _ := p.Lookup(src); pool != "fixed" || dyn {
		t.Errorf("moved prefix: pool %s dynamic %v", pool, dyn)
	}
	if _, err := WhatIf(snap, nil, t0, PolicyChange{DropExemptions: []netip.Prefix{netip.MustParsePrefix("10.0.0.8/32")}}); err == nil ||
		err.Error() != "10.0.0.8/32 is not an exemption (see edge exempt list)" {
		t.Errorf("dropping no exemption: %v", err)
	}
	if len(snap.Prefixes) != 1 || snap.Prefixes[0].Pool != "dyn" || len(snap.Exemptions) != 1 {
		t.Errorf("the snapshot was changed: %v %v", snap.Prefixes, snap.Exemptions)
	}
}

// TestReplayImpactSubscriber: the subscriber is asked about the source's
// last flow's time, or Now when the input has none.
func TestReplayImpactSubscriber(t *testing.T) {
	snap := &store.EdgeSnapshot{Prefixes: []store.PoolPrefix{{Pool: "dyn", Kind: store.PoolDynamic, Prefix: netip.MustParsePrefix("198.51.100.0/24")}}}
	p := Compile(snap, nil, t0)
	in := "ts,te,td,sa,da,sp,dp,pr\n" +
		"2026-04-01 10:00:00,x,0,198.51.100.7,203.0.113.9,1,25,TCP\n" +
		"2026-04-01 11:00:00,x,0,198.51.100.7,203.0.113.9,1,25,TCP\n" +
		"x,x,0,198.51.100.8,203.0.113.9,1,25,TCP\n"
	asked := map[netip.Addr]time.Time{}
	im, err := ReplayImpact(NewFlowReader(strings.NewReader(in)), p, nil, ImpactOptions{Top: 5, Now: t0,
		Subscriber: func(ip netip.Addr, at time.Time) string { asked[ip] = at; return "sub-" + ip.String() }})
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Now.Top) != 2 || im.Now.Top[0].Subscriber != "sub-198.51.100.7" || im.Now.Top[0].Flows != 2 || im.Now.Top[0].Destinations != 1 {
		t.Fatalf("top %+v", im.Now.Top)
	}
	if a := asked[netip.MustParseAddr("198.51.100.7")]; !a.Equal(time.Date(2026, 4, 1, 11, 0, 0, 0, time.Local)) {
		t.Errorf("asked about .7 at %v", a)
	}
	if a := asked[netip.MustParseAddr("198.51.100.8")]; !a.Equal(t0) {
		t.Errorf("asked about .8 at %v", a)
	}
}
