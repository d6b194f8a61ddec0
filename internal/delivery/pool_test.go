package delivery

import (
	"context"
	"testing"
	"time"
)

func TestPoolLimitsConcurrencyPerDestination(t *testing.T) {
	var p pool
	ctx := context.Background()
	r1, _ := p.acquire(ctx, "a.test", 2)
	r2, _ := p.acquire(ctx, "a.test", 2)
	other, err := p.acquire(ctx, "b.test", 2)
	if err != nil {
		t.Fatal("another destination must not wait")
	}
	other()
	got := make(chan func())
	go func() { r, _ := p.acquire(ctx, "a.test", 2); got <- r }()
	select {
	case <-got:
		t.Fatal("third delivery to a.test started with limit 2")
	case <-time.After(50 * time.Millisecond):
	}
	r1()
	r3 := <-got
	r2()
	r3()
	cctx, cancel := context.WithCancel(ctx)
	a, _ := p.acquire(ctx, "c.test", 1)
	cancel()
	if _, err := p.acquire(cctx, "c.test", 1); err == nil {
		t.Fatal("acquire ignored a cancelled context")
	}
	a()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.slots) != 0 {
		t.Fatalf("slot state kept for %d destinations after every delivery ended", len(p.slots))
	}
}
