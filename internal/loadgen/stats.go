package loadgen

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Percentile returns the p-th percentile (0 < p <= 100) of ds by the
// nearest-rank method, or 0 for no samples.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(p/100*float64(len(s)) + 0.999999)
	rank = max(1, min(rank, len(s)))
	return s[rank-1]
}

// Repeat runs op from workers goroutines until d has passed or ctx ends,
// timing each call. The first error stops the run.
func Repeat(ctx context.Context, workers int, d time.Duration, op func() error) (*Result, error) {
	var (
		mu       sync.Mutex
		res      Result
		wg       sync.WaitGroup
		deadline = time.Now().Add(d)
		start    = time.Now()
	)
	for i := 0; i < max(workers, 1); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(deadline) {
				t0 := time.Now()
				err := op()
				lat := time.Since(t0)
				mu.Lock()
				if err != nil {
					res.Failed++
					if res.FirstErr == nil {
						res.FirstErr = err
					}
					mu.Unlock()
					return
				}
				res.Sent++
				res.Latencies = append(res.Latencies, lat)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	return &res, res.FirstErr
}
