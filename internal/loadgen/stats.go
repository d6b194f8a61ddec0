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

// tally gathers a Result from concurrent workers.
type tally struct {
	mu  sync.Mutex
	res Result
}

// ok counts one success that took lat.
func (t *tally) ok(lat time.Duration) {
	t.mu.Lock()
	t.res.Sent++
	t.res.Latencies = append(t.res.Latencies, lat)
	t.mu.Unlock()
}

// resumed counts one session whose TLS handshake was a resumption.
func (t *tally) resumed() {
	t.mu.Lock()
	t.res.Resumed++
	t.mu.Unlock()
}

// fail counts one failure, keeping the first error.
func (t *tally) fail(err error) {
	t.mu.Lock()
	t.res.Failed++
	if t.res.FirstErr == nil {
		t.res.FirstErr = err
	}
	t.mu.Unlock()
}

// Repeat runs op from workers goroutines until d has passed or ctx ends,
// timing each call. The first error stops the run.
func Repeat(ctx context.Context, workers int, d time.Duration, op func() error) (*Result, error) {
	var (
		tl       tally
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
				if err := op(); err != nil {
					tl.fail(err)
					return
				}
				tl.ok(time.Since(t0))
			}
		}()
	}
	wg.Wait()
	tl.res.Elapsed = time.Since(start)
	return &tl.res, tl.res.FirstErr
}
