package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

// Issue 11 §2: failures count per key within the window of each other, a
// block is made once however many nodes reach it, a success takes the
// pair's failures off its parents, and removing a source lifts its blocks.
func TestLoginFailureCounters(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t0 := time.Unix(1_800_000_000, 0)
		now := t0
		store.SetClock(s, func() time.Time { return now })
		addr := store.LoginKey{Scope: store.LoginScopeAddress, Source: "192.0.2.1"}
		net := store.LoginKey{Scope: store.LoginScopeNetwork, Source: "192.0.2.0/24"}
		pair := func(acct string) store.LoginKey {
			return store.LoginKey{Scope: store.LoginScopeAccount, Source: "192.0.2.1", Account: acct}
		}
		fail := func(acct string) []store.LoginCounter {
			t.Helper()
			cs, err := s.AddLoginFailures(ctx, []store.LoginKey{addr, net, pair(acct)}, 10*time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return cs
		}
		fail("alice@isp.example")
		now = now.Add(9 * time.Minute)
		fail("alice@isp.example")
		cs := fail("bob@isp.example")
		if cs[0].Failures != 3 || cs[1].Failures != 3 || cs[2].Failures != 1 || !cs[0].FirstAt.Equal(t0) {
			t.Fatalf("after 3 failures: %+v", cs)
		}
		// Alice logs in: her two failures leave the address and network.
		if err := s.ClearLoginFailures(ctx, pair("alice@isp.example"), []store.LoginKey{addr, net}); err != nil {
			t.Fatal(err)
		}
		got, err := s.LoginCounters(ctx, []store.LoginKey{addr, net, pair("alice@isp.example"), pair("bob@isp.example")})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[addr.ID()].Failures != 1 || got[net.ID()].Failures != 1 || got[pair("bob@isp.example").ID()].Failures != 1 {
			t.Fatalf("after alice's login: %+v", got)
		}
		// A failure a whole window after the last starts over.
		now = now.Add(10 * time.Minute)
		if cs := fail("bob@isp.example"); cs[0].Failures != 1 || cs[2].Failures != 1 {
			t.Fatalf("after a quiet window: %+v", cs)
		}
		// Blocking: made once, listed, audited, then removed.
		until := now.Add(15 * time.Minute)
		for i, want := range []bool{true, false} {
			made, err := s.BlockLogins(ctx, "login", addr, until, "10 failures")
			if err != nil || made != want {
				t.Fatalf("block %d: made %v, %v; want %v", i, made, err, want)
			}
		}
		blocks, err := s.LoginBlocks(ctx)
		if err != nil || len(blocks) != 1 || blocks[0].Source != "192.0.2.1" || !blocks[0].BlockedUntil.Equal(until) || blocks[0].Reason != "10 failures" {
			t.Fatalf("blocks: %+v, %v", blocks, err)
		}
		log, _ := s.AuditLog(ctx, 1)
		if len(log) != 1 || log[0].Action != "login.block" || log[0].Subject != "192.0.2.1" {
			t.Fatalf("audit: %+v", log)
		}
		if n, err := s.RemoveLoginBlocks(ctx, "cli:op", "192.0.2.1"); err != nil || n != 2 {
			t.Fatalf("remove: %d, %v (want the address and bob's pair)", n, err)
		}
		if _, err := s.RemoveLoginBlocks(ctx, "cli:op", "192.0.2.1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("remove again: %v", err)
		}
		if blocks, _ := s.LoginBlocks(ctx); len(blocks) != 0 {
			t.Fatalf("blocks after remove: %+v", blocks)
		}
		now = now.Add(time.Hour)
		if err := s.PruneLoginFailures(ctx, 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.LoginCounters(ctx, []store.LoginKey{net}); len(got) != 0 {
			t.Fatalf("stale counter not pruned: %+v", got)
		}
	})
}
