package web

import (
	"context"
	"net/netip"
	"testing"

	"mailgate/internal/config"
	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

// TestProbeRateSharedByFleet: two nodes on one store count one client
// network's probes together (an IPv4 /24, an IPv6 /64), other networks
// apart, and all visitors' probes against probe_fleet_per_hour.
func TestProbeRateSharedByFleet(t *testing.T) {
	storetest.EachBackend(t, func(t *testing.T, st *store.Store) {
		cfg := config.Default()
		cfg.Hostname = "mail.isp.example"
		cfg.Web.ProbePerHour, cfg.Web.ProbeFleetPerHour = 3, 5
		var nodes []*Server
		for range 2 {
			srv, err := New(cfg, st, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			nodes = append(nodes, srv)
		}
		ctx := context.Background()
		take := func(node int, addr string) bool {
			return nodes[node].probeLimit(ctx, netip.MustParseAddr(addr)) == ""
		}
		// One /24 over both nodes and three addresses: 3 allowed, then no.
		for i, addr := range []string{"192.0.2.1", "192.0.2.77", "::ffff:192.0.2.200"} {
			if !take(i%2, addr) {
				t.Fatalf("probe %d from %s refused", i+1, addr)
			}
		}
		if take(1, "192.0.2.9") {
			t.Fatal("a 4th probe from 192.0.2.0/24 through the other node was allowed")
		}
		// One /64: two addresses, one count.
		if !take(0, "2001:db8:1:2::1") || !take(1, "2001:db8:1:2::ffff") {
			t.Fatal("first probes from 2001:db8:1:2::/64 refused")
		}
		// The fleet's 5 are spent (the refused 4th was not counted there).
		if got := nodes[0].probeLimit(ctx, netip.MustParseAddr("198.51.100.1")); got != "probe.r.busy" {
			t.Fatalf("a 6th probe over the fleet: %q, want probe.r.busy", got)
		}
	})
}
