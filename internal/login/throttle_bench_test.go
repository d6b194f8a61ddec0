package login

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"mailgate/internal/store/storetest"
)

// The throttle's cost on a login from a clean address, the common case,
// against SQLite: reading the three counters from the store, and from the
// one-second cache. (A failure adds one write transaction; those are
// what is being limited.)
func BenchmarkThrottleReadSQLite(b *testing.B) {
	st := storetest.SQLite(b)
	for _, ttl := range []time.Duration{0, time.Second} {
		b.Run(fmt.Sprintf("cache=%v", ttl), func(b *testing.B) {
			th := NewThrottle(st, DefaultSettings(), nil)
			th.cache.ttl = ttl
			k := keysFor(netip.MustParseAddr("192.0.2.1"), "alice@isp.example")
			ctx := context.Background()
			for b.Loop() {
				if _, err := th.read(ctx, k.all()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
