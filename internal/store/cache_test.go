package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// Two Stores on one database stand for two nodes: a change is seen at
// once by the node that made it and within the TTL by the other.
func TestLookupCacheSeesChanges(t *testing.T) {
	ctx := context.Background()
	a, b, advance := twoNodes(t)

	if ok, _ := b.HasDomain(ctx, "isp.example"); ok {
		t.Fatal("unknown domain reported as ours")
	}
	if err := a.AddDomain(ctx, "t", "isp.example"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := a.HasDomain(ctx, "isp.example"); !ok {
		t.Fatal("the node that added the domain does not see it")
	}
	if ok, _ := b.HasDomain(ctx, "isp.example"); ok {
		t.Fatal("the other node saw the change before its cached answer expired")
	}
	advance(b.lookups.ttl - time.Millisecond)
	if ok, _ := b.HasDomain(ctx, "isp.example"); ok {
		t.Fatal("the other node saw the change before its cached answer expired")
	}
	advance(2 * time.Millisecond)
	if ok, _ := b.HasDomain(ctx, "isp.example"); !ok {
		t.Fatal("the other node does not see the domain after the TTL")
	}

	if err := a.AddAccount(ctx, "t", "u@isp.example", "h"); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Resolve(ctx, "u@isp.example"); err != nil || got != "u@isp.example" {
		t.Fatalf("Resolve = %q, %v", got, err)
	}
	if err := a.RemoveAccount(ctx, "t", "u@isp.example"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Resolve(ctx, "u@isp.example"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("removed account still resolves on the node that removed it: %v", err)
	}
}

// "No active Sieve script", which every delivery to most accounts asks,
// is cached like the lookups: a script activated through this Store is
// used at once, one activated on another node within the TTL.
func TestNoActiveSieveScriptIsCachedUntilAChange(t *testing.T) {
	ctx := context.Background()
	a, b, advance := twoNodes(t)
	a.AddDomain(ctx, "t", "isp.example")
	a.AddAccount(ctx, "t", "u@isp.example", "h")
	for _, s := range []*Store{a, b} {
		if _, err := s.ActiveSieveScript(ctx, "u@isp.example"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("no script yet: %v", err)
		}
	}
	if err := a.PutSieveScript(ctx, "t", "u@isp.example", "main", "keep;"); err != nil {
		t.Fatal(err)
	}
	if err := a.ActivateSieveScript(ctx, "t", "u@isp.example", "main"); err != nil {
		t.Fatal(err)
	}
	if sc, err := a.ActiveSieveScript(ctx, "u@isp.example"); err != nil || sc.Content != "keep;" {
		t.Fatalf("the node that activated it: %v, %v", sc, err)
	}
	if _, err := b.ActiveSieveScript(ctx, "u@isp.example"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the other node saw the script before its cached answer expired: %v", err)
	}
	advance(b.lookups.ttl + time.Millisecond)
	if sc, err := b.ActiveSieveScript(ctx, "u@isp.example"); err != nil || sc.Content != "keep;" {
		t.Fatalf("the other node after the TTL: %v, %v", sc, err)
	}
}

// A catch-all added or removed changes what cached addresses resolve to:
// at once on the node that made the change, within the TTL on another.
func TestLookupCacheSeesCatchAllChanges(t *testing.T) {
	ctx := context.Background()
	a, b, advance := twoNodes(t)
	for _, err := range []error{a.AddDomain(ctx, "t", "isp.example"), a.AddAccount(ctx, "t", "u@isp.example", "h")} {
		if err != nil {
			t.Fatal(err)
		}
	}
	resolves := func(s *Store, want string) bool {
		got, err := s.Resolve(ctx, "stray@isp.example")
		if want == "" {
			return errors.Is(err, ErrNotFound)
		}
		return err == nil && got == want
	}
	if !resolves(a, "") || !resolves(b, "") {
		t.Fatal("stray address resolves before the catch-all")
	}
	if err := a.AddAlias(ctx, "t", "@isp.example", "u@isp.example"); err != nil {
		t.Fatal(err)
	}
	if !resolves(a, "u@isp.example") {
		t.Fatal("the node that added the catch-all still answers from its cache")
	}
	if !resolves(b, "") {
		t.Fatal("the other node saw the change before its cached answer expired")
	}
	advance(b.lookups.ttl + time.Millisecond)
	if !resolves(b, "u@isp.example") {
		t.Fatal("the other node does not see the catch-all after the TTL")
	}
	if err := a.RemoveAlias(ctx, "t", "@isp.example"); err != nil {
		t.Fatal(err)
	}
	if !resolves(a, "") {
		t.Fatal("the node that removed the catch-all still answers from its cache")
	}
	advance(b.lookups.ttl + time.Millisecond)
	if !resolves(b, "") {
		t.Fatal("the other node still resolves through the removed catch-all after the TTL")
	}
}

// twoNodes opens two Stores on one SQLite database, standing for two
// nodes, and returns advance, which moves b's cache clock: it moves only
// when the test says, so "within the TTL" does not depend on how fast the
// machine is.
func twoNodes(t *testing.T) (a, b *Store, advance func(time.Duration)) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	for _, s := range []**Store{&a, &b} {
		var err error
		if *s, err = Open(ctx, path); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { (*s).Close() })
	}
	clock := time.Now()
	b.lookups.clock = func() time.Time { return clock }
	return a, b, func(d time.Duration) { clock = clock.Add(d) }
}
