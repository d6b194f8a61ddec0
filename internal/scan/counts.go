package scan

// ErrorCounts returns the failed-scan count of every engine seen so far,
// for a metrics exporter.
func ErrorCounts() map[string]uint64 {
	metricsMu.Lock()
	defer metricsMu.Unlock()
	out := make(map[string]uint64, len(errorsByEngine))
	for n, c := range errorsByEngine {
		out[n] = c.Value()
	}
	return out
}
