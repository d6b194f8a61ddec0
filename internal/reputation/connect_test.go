package reputation

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

// TestConnectVerdicts: before the greeting only what the address alone
// decides is judged: list listings, PBL-style answers and imported
// dynamic ranges refuse with the texts of the later check; a list that
// does not answer, a missing PTR, and our own pools (the subscriber may
// yet authenticate) do not.
func TestConnectVerdicts(t *testing.T) {
	ctx := context.Background()
	st := storetest.SQLite(t)
	if _, err := st.ReplaceReputationList(ctx, "t", "isp-b", "feed.txt", []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddPoolPrefixes(ctx, "t", "dyn-east", store.PoolDynamic, []string{"203.0.113.0/24"}); err != nil {
		t.Fatal(err)
	}
	f := &fakeDNS{a: map[string][]netip.Addr{
		"1.2.0.192.zen.example":    addrs("127.0.0.2"),
		"4.2.0.192.zen.example":    addrs("127.0.0.10"),
		"9.113.0.203.zen.example":  addrs("127.0.0.10"),
		"3.2.0.192.weak.example":   addrs("127.0.0.2"),
		"5.2.0.192.slow.example":   addrs("127.0.0.2"),
		"9.100.51.198.zen.example": addrs("127.255.255.254"),
	}, hang: map[string]bool{"slow.example": true}}
	cfg := baseConfig()
	cfg.RDNS = "reject-missing"
	cfg.CheckURL = "https://mx.example/check"
	c := newChecker(t, cfg, f, st)
	refusal := func(ip string) string {
		r := c.CheckConnect(ctx, netip.MustParseAddr(ip))
		if r.Refusal == nil {
			return ""
		}
		return r.Refusal.String()
	}
	for _, tc := range []struct{ ip, want string }{
		{"192.0.2.1", "554 5.7.1 Service unavailable; client [192.0.2.1] blocked using zen.example; see https://zen.example/lookup?ip=192.0.2.1"},
		{"::ffff:192.0.2.1", "554 5.7.1 Service unavailable; client [192.0.2.1] blocked using zen.example; see https://zen.example/lookup?ip=192.0.2.1"},
		{"192.0.2.4", "550 5.7.1 Client [192.0.2.4] is in dynamic (end-user) address space (listed by zen.example): send through your provider's submission service (port 587 with authentication); see https://mx.example/check"},
		{"198.51.100.9", "550 5.7.1 Client [198.51.100.9] is in dynamic (end-user) address space (198.51.100.0/24, list isp-b): send through your provider's submission service (port 587 with authentication); see https://mx.example/check"},
		{"192.0.2.3", ""},   // a scoring list only scores
		{"192.0.2.5", ""},   // slow.example never answers
		{"192.0.2.9", ""},   // no PTR: judged after EHLO (reject-missing)
		{"203.0.113.9", ""}, // our own pool, PBL-listed too: judged after EHLO
	} {
		if got := refusal(tc.ip); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.ip, got, tc.want)
		}
	}
	// The same text as the check after EHLO gives.
	if r := c.CheckConnect(ctx, netip.MustParseAddr("198.51.100.9")); !strings.Contains(r.Format(), "ip25b: dynamic range 198.51.100.0/24 of imported list isp-b") {
		t.Errorf("findings:\n%s", r.Format())
	}
	if r := c.CheckConnect(ctx, netip.MustParseAddr("203.0.113.9")); !strings.Contains(r.Format(), "own pools: our dynamic pool dyn-east (203.0.113.0/24): judged after EHLO") {
		t.Errorf("own pool findings:\n%s", r.Format())
	}
	// The connect wait bounds it all, whatever dnsbl_timeout says.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if r := c.CheckConnect(short, netip.MustParseAddr("192.0.2.5")); r.Refusal != nil || !strings.Contains(r.Format(), "slow.example: no answer") {
		t.Errorf("slow list under a short wait:\n%s", r.Format())
	}
	if got := (ConnectStage{c}).CheckConnect(ctx, netip.MustParseAddr("192.0.2.1")); got == nil || got.Code != 554 {
		t.Errorf("stage: %v", got)
	}
}
