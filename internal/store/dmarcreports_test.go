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
	var nodes []*store.Store
	for range 2 {
		s, err := store.Open(ctx, dsn)
		must(t, err)
		t.Cleanup(func() { s.Close() })
		nodes = append(nodes, s)
	}
	row := func(domain string, period int64, ip string, n int64) store.DMARCCount {
		return store.DMARCCount{PolicyDomain: domain, PeriodBegin: period, SourceIP: ip, HeaderFrom: domain, EnvelopeFrom: domain,
			Disposition: "none", DKIMEval: "pass", SPFEval: "fail", DKIMResults: domain + " sel pass", SPFDomain: domain,
			SPFScope: "mfrom", SPFResult: "fail", Messages: n}
	}
	must(t, nodes[0].AddDMARCCounts(ctx, []store.DMARCCount{row("a.test", 100, "192.0.2.1", 2), row("a.test", 100, "192.0.2.2", 1), row("b.test", 100, "192.0.2.1", 1)}))
	must(t, nodes[1].AddDMARCCounts(ctx, []store.DMARCCount{row("a.test", 100, "192.0.2.1", 3), row("a.test", 200, "192.0.2.1", 7)}))

	domains, err := nodes[0].DMARCReportDomains(ctx, 200)
	must(t, err)
	if len(domains) != 2 || domains[0] != "a.test" || domains[1] != "b.test" {
		t.Fatalf("domains with complete periods: %q", domains)
	}

	// A failing send keeps the rows.
	err = nodes[0].TakeDMARCCounts(ctx, "a.test", 200, func([]store.DMARCCount) error { return context.Canceled })
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
			err := nodes[i%2].TakeDMARCCounts(ctx, "a.test", 200, func(cs []store.DMARCCount) error {
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
	must(t, nodes[1].TakeDMARCCounts(ctx, "a.test", 300, func(cs []store.DMARCCount) error { later = cs; return nil }))
	if len(later) != 1 || later[0].PeriodBegin != 200 || later[0].Messages != 7 {
		t.Fatalf("later period: %+v", later)
	}
}
