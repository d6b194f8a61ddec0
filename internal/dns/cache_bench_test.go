package dns

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// BenchmarkResolverMix measures lookups per second and the cache's hit
// rate on the mix an MX sees: sender domains drawn from a Zipf
// distribution (a few big senders, a long tail), and per message the SPF
// TXT, the DMARC TXT, the DKIM key TXT and an A record, a third of the
// domains without DMARC (negative answers). The cache holds 20000 answers
// for 40000 names, so eviction is part of the measure. The server is an
// in-process one on loopback: a miss costs a real UDP round trip.
func BenchmarkResolverMix(b *testing.B) {
	const domains = 10000
	var zone strings.Builder
	for i := range domains {
		fmt.Fprintf(&zone, "d%d.test. 300 IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n", i)
		fmt.Fprintf(&zone, "s._domainkey.d%d.test. 300 IN TXT \"v=DKIM1; p=AAAA\"\n", i)
		fmt.Fprintf(&zone, "mx.d%d.test. 300 IN A 192.0.2.1\n", i)
		if i%3 != 0 {
			fmt.Fprintf(&zone, "_dmarc.d%d.test. 300 IN TXT \"v=DMARC1; p=none\"\n", i)
		}
	}
	addr := serve(b, zone.String())
	r := New([]string{addr}, 2*time.Second)
	r.Cache.MaxEntries = 20000
	ctx := context.Background()
	zipf := rand.NewZipf(rand.New(rand.NewPCG(1, 2)), 1.1, 1, domains-1)
	names := make([]string, 0, 4096)
	for range cap(names) / 4 {
		d := fmt.Sprintf("d%d.test", zipf.Uint64())
		names = append(names, d, "_dmarc."+d, "s._domainkey."+d, "mx."+d)
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		name := names[i%len(names)]
		if strings.HasPrefix(name, "mx.") {
			r.LookupIP(ctx, name)
		} else {
			r.LookupTXT(ctx, name)
		}
	}
	s := r.Stats()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "lookups/s")
	b.ReportMetric(100*s.HitRate(), "hit%")
}
