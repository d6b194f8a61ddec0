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
	path := filepath.Join(t.TempDir(), "m.db")
	a, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// b's clock moves only when the test says, so "within the TTL" does
	// not depend on how fast the machine is.
	clock := time.Now()
	b.lookups.clock = func() time.Time { return clock }

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
	clock = clock.Add(b.lookups.ttl - time.Millisecond)
	if ok, _ := b.HasDomain(ctx, "isp.example"); ok {
		t.Fatal("the other node saw the change before its cached answer expired")
	}
	clock = clock.Add(2 * time.Millisecond)
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
