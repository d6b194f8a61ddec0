package web

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mailgate/internal/spool"
)

// queueAgeGauge is the age of the oldest queued message, 0 with an empty
// queue: a queue that grows old means delivery is stuck somewhere even
// when its size looks ordinary.
func queueAgeGauge(sp *spool.Spool) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mailgate_queue_oldest_seconds",
		Help: "Age of the oldest message in the spool (0: empty)."}, func() float64 {
		oldest, ok := oldestQueued(sp)
		if !ok {
			return 0
		}
		return time.Since(oldest).Seconds()
	})
}

// oldestQueued is the arrival time of the spool's oldest message (IDs
// sort by arrival). One delivered while we look is skipped.
func oldestQueued(sp *spool.Spool) (time.Time, bool) {
	ids, err := sp.IDs()
	if err != nil {
		return time.Time{}, false
	}
	for _, id := range ids[:min(len(ids), 10)] {
		m, err := sp.Open(id)
		if err != nil {
			continue
		}
		m.Close()
		return m.Envelope.Received, true
	}
	return time.Time{}, false
}
