package store_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

// TestSubscriberSessions: Start, Interim-Update and Stop map addresses to
// the subscriber who held them at a moment; an address later given to
// someone else names the new holder only after the handover;
// Accounting-On closes a NAS's open sessions; a linked account is shown.
func TestSubscriberSessions(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		t0 := time.Unix(1_800_000_000, 0)
		ip := netip.MustParseAddr("10.10.0.5")
		a := store.SubscriberSession{NAS: "bng1", SessionID: "s1", Username: "sub-0001", Class: "dynamic",
			IPv4: ip, Start: t0, Updated: t0}
		must(t, s.RecordSessionStart(ctx, a))
		// The interim update adds the delegated IPv6 prefix.
		a.IPv4, a.Delegated, a.Updated = netip.Addr{}, netip.MustParsePrefix("2001:db8:10::/56"), t0.Add(time.Minute)
		must(t, s.RecordSessionStart(ctx, a))
		a.Stop = t0.Add(time.Hour)
		must(t, s.RecordSessionStop(ctx, a))
		b := store.SubscriberSession{NAS: "bng1", SessionID: "s2", Username: "sub-0002", IPv4: ip,
			Start: t0.Add(2 * time.Hour), Updated: t0.Add(2 * time.Hour)}
		must(t, s.RecordSessionStart(ctx, b))

		who := func(addr string, at time.Time) string {
			ss, err := s.SubscriberAt(ctx, netip.MustParseAddr(addr), at)
			if errors.Is(err, store.ErrNotFound) {
				return "-"
			}
			if err != nil {
				t.Fatal(err)
			}
			return ss.Username + "/" + ss.Account
		}
		must(t, s.AddDomain(ctx, "test", "isp.example"))
		must(t, s.AddAccount(ctx, "test", "dave@isp.example", "h"))
		must(t, s.LinkSubscriber(ctx, "test", "sub-0002", "dave@isp.example"))
		for _, c := range []struct {
			addr string
			at   time.Time
			want string
		}{
			{"10.10.0.5", t0.Add(30 * time.Minute), "sub-0001/"},
			{"2001:db8:10:ff::1", t0.Add(30 * time.Minute), "sub-0001/"},
			{"2001:db8:11::1", t0.Add(30 * time.Minute), "-"},
			{"10.10.0.5", t0.Add(90 * time.Minute), "-"},
			{"10.10.0.5", t0.Add(3 * time.Hour), "sub-0002/dave@isp.example"},
			{"10.10.0.5", t0.Add(-time.Minute), "-"},
		} {
			if got := who(c.addr, c.at); got != c.want {
				t.Errorf("%s at t0%+v: %s, want %s", c.addr, c.at.Sub(t0), got, c.want)
			}
		}
		// Accounting-On from bng1: sub-0002's session ends there.
		n, err := s.CloseNASSessions(ctx, "bng1", t0.Add(4*time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("CloseNASSessions = %d, %v; want 1 open session closed", n, err)
		}
		if got := who("10.10.0.5", t0.Add(5*time.Hour)); got != "-" {
			t.Errorf("after Accounting-On: %s, want nobody", got)
		}
		if err := s.RecordSessionStart(ctx, store.SubscriberSession{NAS: "bng1", Username: "x"}); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("record without session id: %v", err)
		}
		if err := s.LinkSubscriber(ctx, "test", "sub-9", "nobody@isp.example"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("link to an unknown account: %v", err)
		}
	})
}
