package store_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

func TestEdgePools(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		n, err := s.AddPoolPrefixes(ctx, "op", "dyn-east", store.PoolDynamic, []string{"10.1.0.0/16", "10.1.0.0/16", "2001:db8:10::/48", "192.0.2.7"})
		if err != nil || n != 3 {
			t.Fatalf("add = %d, %v; want 3 (10.1.0.0/16 is given twice)", n, err)
		}
		if _, err := s.AddPoolPrefixes(ctx, "op", "fixed", store.PoolStatic, []string{"10.1.0.0/16"}); !errors.Is(err, store.ErrExists) || !strings.Contains(err.Error(), "dyn-east") {
			t.Fatalf("prefix in two pools: %v", err)
		}
		if _, err := s.AddPoolPrefixes(ctx, "op", "dyn-east", store.PoolStatic, []string{"10.9.0.0/16"}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("changing a pool's kind: %v", err)
		}
		for _, bad := range []string{"10.1.0.0/33", "nonsense", "fe80::1%eth0", "", "10.1.2.3/16"} {
			if _, err := s.AddPoolPrefixes(ctx, "op", "x", store.PoolDynamic, []string{bad}); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("prefix %q: %v, want ErrInvalid", bad, err)
			}
		}
		for _, bad := range []string{"bad name", "a,b", "#east", ""} {
			if _, err := s.AddPoolPrefixes(ctx, "op", bad, store.PoolDynamic, []string{"10.0.0.0/8"}); !errors.Is(err, store.ErrInvalid) {
				t.Errorf("pool name %q: %v, want ErrInvalid (it would not survive export and import)", bad, err)
			}
		}
		if _, err := s.AddPoolPrefixes(ctx, "op", "fixed", store.PoolStatic, []string{"10.1.5.0/24", "::ffff:10.1.6.0/120"}); err != nil {
			t.Fatal(err)
		}
		pools, err := s.Pools(ctx)
		if err != nil || len(pools) != 2 || fmt.Sprintf("%s %s %d %s %d", pools[0].Name, pools[0].Kind, pools[0].Prefixes, pools[1].Name, pools[1].Prefixes) != "dyn-east dynamic 3 fixed 2" {
			t.Fatalf("pools = %+v, %v", pools, err)
		}
		ps, err := s.PoolPrefixes(ctx, "fixed")
		if err != nil || len(ps) != 2 || ps[1].Prefix.String() != "10.1.6.0/24" {
			t.Fatalf("fixed prefixes = %+v, %v (v4-mapped input is stored unmapped)", ps, err)
		}

		// bulk import: all or nothing, then --replace semantics
		rows := []store.PoolRow{{Pool: "bulk", Kind: "dynamic", Prefix: "172.16.0.0/30"}, {Pool: "bulk", Kind: "dynamic", Prefix: "10.1.0.0/16"}}
		if _, err := s.ImportPools(ctx, "op", rows, false); !errors.Is(err, store.ErrExists) {
			t.Fatalf("import clashing with another pool: %v", err)
		}
		if ps, _ := s.PoolPrefixes(ctx, "bulk"); len(ps) != 0 {
			t.Fatalf("failed import left %d prefixes behind", len(ps))
		}
		rows = rows[:1]
		for i := 1; i < 2000; i++ {
			rows = append(rows, store.PoolRow{Pool: "bulk", Kind: "dynamic", Prefix: fmt.Sprintf("172.17.%d.%d/30", i/64, (i%64)*4)})
		}
		if n, err := s.ImportPools(ctx, "op", rows, false); err != nil || n != 2000 {
			t.Fatalf("import = %d, %v", n, err)
		}
		if n, err := s.ImportPools(ctx, "op", rows, false); err != nil || n != 0 {
			t.Fatalf("re-import = %d, %v; want 0 new", n, err)
		}
		if n, err := s.ImportPools(ctx, "op", []store.PoolRow{{Pool: "fixed", Kind: "static", Prefix: "10.1.200.0/24"}}, true); err != nil || n != 1 {
			t.Fatalf("replace import = %d, %v", n, err)
		}
		if ps, _ := s.PoolPrefixes(ctx, "fixed"); len(ps) != 1 || ps[0].Prefix.String() != "10.1.200.0/24" {
			t.Fatalf("after replace, fixed = %+v", ps)
		}
		if ps, _ := s.PoolPrefixes(ctx, "bulk"); len(ps) != 2000 {
			t.Fatalf("replace touched a pool not in the file: bulk has %d", len(ps))
		}

		if err := s.RemovePool(ctx, "op", "dyn-east", []string{"192.0.2.7"}); err != nil {
			t.Fatal(err)
		}
		if err := s.RemovePool(ctx, "op", "dyn-east", []string{"192.0.2.7"}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("removing a prefix twice: %v", err)
		}
		if err := s.RemovePool(ctx, "op", "bulk", nil); err != nil {
			t.Fatal(err)
		}
		if err := s.RemovePool(ctx, "op", "bulk", nil); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("removing a pool twice: %v", err)
		}
		log, _ := s.AuditLog(ctx, 100)
		var actions []string
		for _, e := range log {
			actions = append(actions, e.Action+" "+e.Subject)
		}
		for _, want := range []string{"pool.import dyn-east", "pool.remove-prefix dyn-east", "pool.remove bulk"} {
			if !strings.Contains(strings.Join(actions, "\n"), want) {
				t.Errorf("audit log lacks %q:\n%s", want, strings.Join(actions, "\n"))
			}
		}
	})
}

func TestEdgePolicy(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		v0, _ := s.EdgeVersion(ctx)
		until := time.Date(2099, 3, 31, 0, 0, 0, 0, time.UTC)
		if err := s.AddExemption(ctx, "alice", "10.1.7.7", "moved to fixed-IP plan", until, store.ExemptLimit{}); err != nil {
			t.Fatal(err)
		}
		past := time.Now().Add(-time.Minute)
		if err := s.AddExemption(ctx, "alice", "10.1.7.9", "typo in the year", past, store.ExemptLimit{}); !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "is already past: it would exempt nothing") {
			t.Fatalf("an exemption that ended already: %v", err)
		}
		if err := s.AddExemption(ctx, "alice", "10.1.7.8", " ", time.Time{}, store.ExemptLimit{}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("exemption without reason: %v", err)
		}
		es, err := s.Exemptions(ctx)
		if err != nil || len(es) != 1 || es[0].Prefix.String() != "10.1.7.7/32" || !es[0].Until.Equal(until) || es[0].Actor != "alice" || es[0].Reason != "moved to fixed-IP plan" {
			t.Fatalf("exemptions = %+v, %v", es, err)
		}
		log, _ := s.AuditLog(ctx, 1)
		if log[0].Action != "edge.exempt.add" || log[0].Actor != "alice" || !strings.Contains(log[0].Detail, "moved to fixed-IP plan (until 2099-03-31T00:00:00Z)") {
			t.Fatalf("audit = %+v", log[0])
		}
		if v1, _ := s.EdgeVersion(ctx); v1 <= v0 {
			t.Fatalf("version did not move: %d -> %d", v0, v1)
		}

		if err := s.AddRelays(ctx, "op", []string{"192.0.2.25", "2001:db8::25", "192.0.2.25"}); err != nil {
			t.Fatal(err)
		}
		if rs, _ := s.Relays(ctx); len(rs) != 2 {
			t.Fatalf("relays = %+v", rs)
		}
		if err := s.RemoveRelay(ctx, "op", "192.0.2.25/32"); err != nil {
			t.Fatal(err)
		}

		if err := s.AddCarrierEntries(ctx, "op", "docomo", []string{"docomo.ne.jp.", "198.51.100.0/24", "DOCOMO.ne.jp"}); err != nil {
			t.Fatal(err)
		}
		if err := s.AddCarrierEntries(ctx, "op", "x", []string{"not a domain"}); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("bad carrier entry: %v", err)
		}
		cs, _ := s.Carriers(ctx)
		if fmt.Sprint(cs) != "[{docomo domain docomo.ne.jp} {docomo prefix 198.51.100.0/24}]" {
			t.Fatalf("carriers = %v", cs)
		}
		if err := s.RemoveCarrier(ctx, "op", "docomo", []string{"docomo.ne.jp"}); err != nil {
			t.Fatal(err)
		}

		phase2 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
		if err := s.SetScope(ctx, "op", store.ScopeCarriers, phase2.AddDate(0, -6, 0)); err != nil {
			t.Fatal(err)
		}
		if err := s.SetScope(ctx, "op", store.ScopeAll, phase2); err != nil {
			t.Fatal(err)
		}
		if err := s.SetScope(ctx, "op", "some", phase2); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("bad scope: %v", err)
		}
		// phase2 (past) is in force: a change dated before it would never be.
		if err := s.SetScope(ctx, "op", store.ScopeCarriers, phase2.AddDate(0, -1, 0)); !errors.Is(err, store.ErrInvalid) ||
			!strings.Contains(err.Error(), "the change to all from 2026-10-01T00:00:00Z is in force and later, so this one would never be") {
			t.Fatalf("a change superseded before it is made: %v", err)
		}
		sc, _ := s.Schedule(ctx)
		if len(sc) != 2 || sc[0].Scope != store.ScopeCarriers || !sc[1].From.Equal(phase2) {
			t.Fatalf("schedule = %+v", sc)
		}
		if a, _ := s.Action(ctx); a != store.ActionReset {
			t.Fatalf("default action = %s", a)
		}
		if err := s.SetAction(ctx, "op", store.ActionDrop); err != nil {
			t.Fatal(err)
		}
		if err := s.SetAction(ctx, "op", "reject"); !errors.Is(err, store.ErrInvalid) {
			t.Fatalf("bad action: %v", err)
		}
		snap, err := s.EdgeSnapshot(ctx)
		if err != nil || snap.Action != store.ActionDrop || len(snap.Relays) != 1 || len(snap.Carriers) != 1 || len(snap.Exemptions) != 1 || len(snap.Schedule) != 2 {
			t.Fatalf("snapshot = %+v, %v", snap, err)
		}
		if err := s.RemoveScopeChange(ctx, "op", phase2); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveExemption(ctx, "op", "10.1.7.7"); err != nil {
			t.Fatal(err)
		}
		if err := s.RemoveExemption(ctx, "op", "10.1.7.7"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("removing an exemption twice: %v", err)
		}
	})
}

func FuzzParsePrefix(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "10.1.2.3", "10.1.2.3/8", "2001:db8::/32", "::ffff:10.0.0.0/104", "::ffff:1.2.3.4", "1.2.3.4/33", "fe80::1%eth0", "", "/", "::/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := store.ParsePrefix(s)
		if err != nil {
			return
		}
		if !p.IsValid() || p != p.Masked() || p.Addr().Is4In6() {
			t.Fatalf("%q -> %v: not canonical", s, p)
		}
		// Nothing is masked away: what was written is the network.
		if given, err := netip.ParsePrefix(strings.TrimSpace(s)); err == nil && given.Addr().Unmap() != p.Addr() {
			t.Fatalf("%q accepted as %v: host bits dropped", s, p)
		}
		again, err := store.ParsePrefix(p.String())
		if err != nil || again != p {
			t.Fatalf("%q -> %v -> %v, %v", s, p, again, err)
		}
	})
}

func FuzzParseCarrierEntry(f *testing.F) {
	for _, s := range []string{"docomo.ne.jp", "198.51.100.0/24", "ezweb.ne.jp.", "-bad.example", "a..b", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kind, entry, err := store.ParseCarrierEntry(s)
		if err != nil {
			return
		}
		k2, e2, err := store.ParseCarrierEntry(entry)
		if err != nil || k2 != kind || e2 != entry {
			t.Fatalf("%q -> %s %q -> %s %q %v", s, kind, entry, k2, e2, err)
		}
	})
}

func TestEdgeAttempts(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		at := func(h int) time.Time { return time.Date(2026, 5, 1, h, 0, 0, 0, time.UTC) }
		src := netip.MustParseAddr("10.1.2.3")
		rec := func(router string, n uint64, dests int, first, last time.Time) {
			t.Helper()
			if err := s.RecordAttempts(ctx, router, []store.AttemptRecord{{Source: src, Pool: "dyn", Attempts: n, Destinations: dests, FirstSeen: first, LastSeen: last}}); err != nil {
				t.Fatal(err)
			}
		}
		rec("edge1", 5, 2, at(1), at(2))
		rec("edge1", 9, 3, at(1), at(3)) // same kernel episode: the count grew
		rec("edge2", 4, 1, at(2), at(2))
		rec("edge1", 2, 1, at(10), at(11)) // the kernel forgot and counts anew
		if err := s.RecordAttempts(ctx, "edge1", []store.AttemptRecord{{Source: netip.MustParseAddr("2001:db8::7"), Pool: "dyn6", Attempts: 1, FirstSeen: at(5), LastSeen: at(5)}}); err != nil {
			t.Fatal(err)
		}
		rs, err := s.AttemptsReport(ctx, 10)
		if err != nil || len(rs) != 2 {
			t.Fatalf("report = %+v, %v", rs, err)
		}
		r := rs[0]
		if r.Source != src || r.Attempts != 15 || r.Destinations != 3 || !r.FirstSeen.Equal(at(1)) || !r.LastSeen.Equal(at(11)) || r.Routers != 2 || r.Pool != "dyn" {
			t.Fatalf("top source = %+v; want 9+2 from edge1 and 4 from edge2 = 15, 2 routers", r)
		}
		if n, err := s.PruneAttempts(ctx, at(6)); err != nil || n != 2 {
			t.Fatalf("prune = %d, %v (the IPv6 source and edge2's row were silent since)", n, err)
		}
		if rs, _ := s.AttemptsReport(ctx, 0); len(rs) != 1 || rs[0].Attempts != 11 || rs[0].Routers != 1 {
			t.Fatalf("after prune: %+v", rs)
		}
		total := func(want uint64, why string) {
			t.Helper()
			if rs, _ := s.AttemptsReport(ctx, 0); len(rs) != 1 || rs[0].Attempts != want {
				t.Fatalf("%s: %+v, want %d attempts", why, rs, want)
			}
		}
		rec("edge1", 5, 1, at(10), at(12))
		total(14, "the later episode grew from 2 to 5 (9 + 5)")
		rec("edge1", 5, 1, at(10).Add(time.Second), at(12))
		total(14, "the same episode read with its first attempt a second later")
		rec("edge1", 1, 1, at(20), at(20))
		total(15, "a new one-attempt episode")
		rec("edge1", 1, 1, at(20).Add(time.Second), at(20).Add(time.Second))
		total(15, "the one-attempt episode read with its times a second later")
	})
}
