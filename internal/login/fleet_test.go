package login

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

// Issue 11 §2: two nodes sharing a store count one guesser's failures
// together; the block one of them makes holds on both, and is made (and
// audited) once.
func TestThrottleSharedByFleet(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, st *store.Store) {
		set := Settings{Window: time.Hour, BlockAfter: 6, BlockAfterAccount: 5, BlockAfterNetwork: 50, BlockTime: time.Hour}
		a, b := NewThrottle(st, set, nil), NewThrottle(st, set, nil)
		a.cache.ttl, b.cache.ttl = 0, 0
		accts := throttleAccounts()
		ctx := context.Background()
		guesser := netip.MustParseAddr("198.51.100.7")
		for i, th := range []*Throttle{a, b, a, b, a, b} {
			if _, err := th.check(ctx, accts, guesser, fmt.Sprintf("user%d@isp.example", i), "Spring2026!"); err != ErrFailed {
				t.Fatalf("guess %d: %v", i, err)
			}
		}
		for _, th := range []*Throttle{a, b} {
			if _, err := th.check(ctx, accts, guesser, "other@isp.example", "victim-password"); err != ErrBlocked {
				t.Fatalf("after 6 failures over two nodes: %v, want ErrBlocked", err)
			}
			if _, err := th.check(ctx, accts, netip.MustParseAddr("203.0.113.1"), "victim@isp.example", "victim-password"); err != nil {
				t.Fatalf("the victim elsewhere: %v", err)
			}
		}
		log, _ := st.AuditLog(ctx, 10)
		n := 0
		for _, e := range log {
			if e.Action == "login.block" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d login.block audit entries, want 1: %+v", n, log)
		}
	})
}
