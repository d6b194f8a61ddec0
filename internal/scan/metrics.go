package scan

import (
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
)

// Counter is a monotonically increasing count, exported in Prometheus's
// text format by WriteMetrics. (mailgate has no metrics endpoint yet; when
// prometheus/client_golang arrives these become CounterVecs.)
type Counter struct{ n atomic.Uint64 }

// Inc adds one.
func (c *Counter) Inc() { c.n.Add(1) }

// Value is the count so far.
func (c *Counter) Value() uint64 { return c.n.Load() }

var (
	metricsMu sync.Mutex
	// errorsByEngine counts scans that got no judgement, per engine:
	// mailgate_scanner_errors_total{scanner="clamd"}.
	errorsByEngine = map[string]*Counter{}
)

// ErrorCounter is the counter of failed scans for one engine.
func ErrorCounter(engine string) *Counter {
	metricsMu.Lock()
	defer metricsMu.Unlock()
	c := errorsByEngine[engine]
	if c == nil {
		c = &Counter{}
		errorsByEngine[engine] = c
	}
	return c
}

// WriteMetrics writes the counters in the Prometheus text exposition format.
func WriteMetrics(w io.Writer) error {
	metricsMu.Lock()
	names := make([]string, 0, len(errorsByEngine))
	for n := range errorsByEngine {
		names = append(names, n)
	}
	metricsMu.Unlock()
	sort.Strings(names)
	if _, err := fmt.Fprint(w, "# HELP mailgate_scanner_errors_total Scans a content scanner could not judge (down, timeout, protocol error).\n# TYPE mailgate_scanner_errors_total counter\n"); err != nil {
		return err
	}
	for _, n := range names {
		if _, err := fmt.Fprintf(w, "mailgate_scanner_errors_total{scanner=%q} %d\n", n, ErrorCounter(n).Value()); err != nil {
			return err
		}
	}
	return nil
}
