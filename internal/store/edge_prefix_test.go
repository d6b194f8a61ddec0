package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

// Issue 15 §4: a prefix with host bits set (10.1.2.3/8) is a typo for the
// address or the network; it was masked to the network silently. Every
// part of the edge policy refuses it, naming both readings.
func TestEdgePrefixWithHostBitsRefused(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		wide := store.ExemptLimit{MinBits4: 1, MinBits6: 1}
		for _, c := range []struct{ in, network, addr string }{
			{"10.1.2.3/8", "10.0.0.0/8", "10.1.2.3"},
			{"2001:db8::1/32", "2001:db8::/32", "2001:db8::1"},
			{"::ffff:10.1.2.3/104", "10.0.0.0/8", "10.1.2.3"},
			{"0.0.0.1/0", "0.0.0.0/0", "0.0.0.1"},
		} {
			want := "host bits set; write the network " + c.network + ", or the address " + c.addr + " alone"
			check := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), want) {
					t.Errorf("%s %s: %v, want ErrInvalid saying %q", what, c.in, err, want)
				}
			}
			_, err := s.AddPoolPrefixes(ctx, "op", "dyn", store.PoolDynamic, []string{c.in})
			check("pool add", err)
			_, err = s.ImportPools(ctx, "op", []store.PoolRow{{Pool: "dyn", Kind: store.PoolDynamic, Prefix: c.in}}, true)
			check("pool import", err)
			check("exemption", s.AddExemption(ctx, "op", c.in, "typo", time.Time{}, wide))
			check("relay", s.AddRelays(ctx, "op", []string{c.in}))
			check("carrier", s.AddCarrierEntries(ctx, "op", "carrier", []string{c.in}))
			check("exemption remove", s.RemoveExemption(ctx, "op", c.in))
		}
		snap, err := s.EdgeSnapshot(ctx)
		if err != nil || len(snap.Prefixes)+len(snap.Exemptions)+len(snap.Relays)+len(snap.Carriers) != 0 || snap.Version != 0 {
			t.Fatalf("refused prefixes changed the policy: %+v, %v", snap, err)
		}
	})
}

// Issue 15 §4: `edge exempt add 0.0.0.0/0` turned OP25B off for everyone
// without a word. Exemptions wider than the limit are refused unless
// forced, and a forced one says so in the audit log.
func TestExemptionWiderThanLimitRefused(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		limit := store.ExemptLimit{MinBits4: 24, MinBits6: 48}
		for _, p := range []string{"0.0.0.0/0", "::/0", "10.0.0.0/8", "10.1.2.0/23", "2001:db8::/32", "2001:db8::/47", "::ffff:10.0.0.0/104"} {
			err := s.AddExemption(ctx, "op", p, "everyone", time.Time{}, limit)
			if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "give --force") || !strings.Contains(err.Error(), "max_exempt_prefix_v") {
				t.Errorf("exemption %s: %v, want ErrInvalid naming the setting and --force", p, err)
			}
		}
		if es, _ := s.Exemptions(ctx); len(es) != 0 {
			t.Fatalf("refused exemptions were stored: %+v", es)
		}
		for _, p := range []string{"10.1.2.0/24", "10.1.3.7", "2001:db8:1::/48", "2001:db8:2::7"} {
			must(t, s.AddExemption(ctx, "op", p, "fixed-IP plan", time.Time{}, limit))
		}
		// The zero limit takes single addresses only.
		if err := s.AddExemption(ctx, "op", "10.9.9.8/31", "two", time.Time{}, store.ExemptLimit{}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("a /31 under the zero limit: %v, want ErrInvalid", err)
		}
		must(t, s.AddExemption(ctx, "op", "10.9.9.9", "one", time.Time{}, store.ExemptLimit{}))
		limit.Force = true
		must(t, s.AddExemption(ctx, "op", "0.0.0.0/0", "disaster drill", time.Time{}, limit))
		log, _ := s.AuditLog(ctx, 1)
		if log[0].Subject != "0.0.0.0/0" || !strings.Contains(log[0].Detail, "forced: wider than the configured limit") {
			t.Fatalf("audit of a forced exemption = %+v", log[0])
		}
		if es, _ := s.Exemptions(ctx); len(es) != 6 {
			t.Fatalf("exemptions = %+v, want 6", es)
		}
	})
}
