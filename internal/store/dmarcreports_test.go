package store_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"mailgate/internal/store"
	"mailgate/internal/store/storetest"
)

// TestDMARCCountsAddUpAndAreTakenOnce: counts with one key add up; two
// store handles on one database (two nodes) taking a domain's counts at
// once from many goroutines get every row exactly once; a send that fails
// leaves the rows for the next run; the current period stays.
func TestDMARCCountsAddUpAndAreTakenOnce(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testDMARCCounts(t, filepath.Join(t.TempDir(), "mailgate.db")) })
	t.Run("postgres", func(t *testing.T) { testDMARCCounts(t, storetest.PostgresDSN(t)) })
}

func testDMARCCounts(t *testing.T, dsn string) {
	ctx := context.Background()
	nodes := openNodes(t, dsn, 2)
	row := func(domain string, period int64, ip string, n int64) store.DMARCCount {
		return store.DMARCCount{PolicyDomain: domain, PeriodBegin: period, SourceIP: ip, HeaderFrom: domain, EnvelopeFrom: domain,
			Disposition: "none", DKIMEval: "pass", SPFEval: "fail", DKIMResults: domain + " sel pass", SPFDomain: domain,
			SPFScope: "mfrom", SPFResult: "fail", Messages: n}
	}
	must(t, nodes[0].AddDMARCCounts(ctx, []store.DMARCCount{row("a.test", 100, "192.0.2.1", 2), row("a.test", 100, "192.0.2.2", 1), row("b.test", 100, "192.0.2.1", 1)}, nil))
	must(t, nodes[1].AddDMARCCounts(ctx, []store.DMARCCount{row("a.test", 100, "192.0.2.1", 3), row("a.test", 200, "192.0.2.1", 7)}, nil))

	domains, err := nodes[0].DMARCReportDomains(ctx, 200)
	must(t, err)
	if len(domains) != 2 || domains[0] != "a.test" || domains[1] != "b.test" {
		t.Fatalf("domains with complete periods: %q", domains)
	}

	// A failing send keeps the rows.
	err = nodes[0].TakeDMARCCounts(ctx, "a.test", 200, func([]store.DMARCCount, []store.DMARCPolicy) error { return context.Canceled })
	if err == nil {
		t.Fatal("a failing send's error was lost")
	}

	var mu sync.Mutex
	var taken []store.DMARCCount
	calls := 0
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := nodes[i%2].TakeDMARCCounts(ctx, "a.test", 200, func(cs []store.DMARCCount, _ []store.DMARCPolicy) error {
				mu.Lock()
				defer mu.Unlock()
				calls++
				taken = append(taken, cs...)
				return nil
			})
			if err != nil {
				t.Errorf("taker %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if calls != 1 || len(taken) != 2 {
		t.Fatalf("%d takers sent, %d rows in all: want one sender of 2 rows", calls, len(taken))
	}
	got := map[string]int64{}
	for _, c := range taken {
		got[c.SourceIP] = c.Messages
	}
	if got["192.0.2.1"] != 5 || got["192.0.2.2"] != 1 {
		t.Fatalf("counts: %v, want 192.0.2.1=5 (2+3 from two nodes), 192.0.2.2=1", got)
	}
	// The period that has not ended yet is still there.
	var later []store.DMARCCount
	must(t, nodes[1].TakeDMARCCounts(ctx, "a.test", 300, func(cs []store.DMARCCount, _ []store.DMARCPolicy) error { later = cs; return nil }))
	if len(later) != 1 || later[0].PeriodBegin != 200 || later[0].Messages != 7 {
		t.Fatalf("later period: %+v", later)
	}
}

// TestDMARCPoliciesTakenWithCounts: the policies a domain's mail was
// judged under are written with the counts, one row per distinct policy
// and period keeping the latest time any node saw it; they are taken with
// the period's counts (kept when the send fails), and a later period's
// stay.
func TestDMARCPoliciesTakenWithCounts(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testDMARCPolicies(t, filepath.Join(t.TempDir(), "mailgate.db")) })
	t.Run("postgres", func(t *testing.T) { testDMARCPolicies(t, storetest.PostgresDSN(t)) })
}

func testDMARCPolicies(t *testing.T, dsn string) {
	ctx := context.Background()
	nodes := openNodes(t, dsn, 2)
	count := func(period int64) []store.DMARCCount {
		return []store.DMARCCount{{PolicyDomain: "a.test", PeriodBegin: period, SourceIP: "192.0.2.1", HeaderFrom: "a.test",
			Disposition: "none", DKIMEval: "pass", SPFEval: "pass", SPFScope: "mfrom", SPFResult: "pass", Messages: 1}}
	}
	policy := func(period int64, p string, seen int64) store.DMARCPolicy {
		return store.DMARCPolicy{PolicyDomain: "a.test", PeriodBegin: period, P: p, SP: p, ADKIM: "r", ASPF: "s", Pct: 100, LastSeen: seen}
	}
	must(t, nodes[0].AddDMARCCounts(ctx, count(100), []store.DMARCPolicy{policy(100, "none", 10), policy(100, "reject", 20)}))
	must(t, nodes[1].AddDMARCCounts(ctx, count(100), []store.DMARCPolicy{policy(100, "none", 5), policy(200, "quarantine", 30)}))
	must(t, nodes[1].AddDMARCCounts(ctx, count(200), nil))

	err := nodes[0].TakeDMARCCounts(ctx, "a.test", 200, func([]store.DMARCCount, []store.DMARCPolicy) error { return context.Canceled })
	if err == nil {
		t.Fatal("a failing send's error was lost")
	}
	var got []store.DMARCPolicy
	must(t, nodes[1].TakeDMARCCounts(ctx, "a.test", 200, func(_ []store.DMARCCount, ps []store.DMARCPolicy) error { got = ps; return nil }))
	seen := map[string]int64{}
	for _, p := range got {
		if p.PeriodBegin != 100 || p.SP != p.P || p.ADKIM != "r" || p.ASPF != "s" || p.Pct != 100 {
			t.Fatalf("policy %+v", p)
		}
		seen[p.P] = p.LastSeen
	}
	if len(got) != 2 || seen["none"] != 10 || seen["reject"] != 20 {
		t.Fatalf("policies of period 100: %+v, want none last seen at 10 (the later of 10 and 5), reject at 20", got)
	}
	var later []store.DMARCPolicy
	must(t, nodes[0].TakeDMARCCounts(ctx, "a.test", 300, func(_ []store.DMARCCount, ps []store.DMARCPolicy) error { later = ps; return nil }))
	if len(later) != 1 || later[0] != policy(200, "quarantine", 30) {
		t.Fatalf("policies of period 200: %+v", later)
	}
}

// openNodes opens n store handles on one database, as n nodes of a fleet
// do, closed with the test.
func openNodes(t *testing.T, dsn string, n int) []*store.Store {
	t.Helper()
	var nodes []*store.Store
	for range n {
		s, err := store.Open(context.Background(), dsn)
		must(t, err)
		t.Cleanup(func() { s.Close() })
		nodes = append(nodes, s)
	}
	return nodes
}
