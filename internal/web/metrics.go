package web

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	mailmetrics "mailgate/internal/metrics"
	"mailgate/internal/scan"
)

// metrics is the node's Prometheus registry. It gathers what the web
// server counts itself and bridges other packages' counters (scan) and
// state (the spool) at scrape time.
type metrics struct {
	reg         *prometheus.Registry
	logins      *prometheus.CounterVec
	probes      *prometheus.CounterVec
	csrfRefused prometheus.Counter
	feedFetches *prometheus.CounterVec
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.logins = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailgate_web_logins_total",
		Help: "Web logins and password checks by result (ok, failed, throttled, unavailable)."}, []string{"result"})
	m.probes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailgate_web_probes_total",
		Help: "Self-check server probes by outcome (advice given or refusal reason)."}, []string{"outcome"})
	m.csrfRefused = prometheus.NewCounter(prometheus.CounterOpts{Name: "mailgate_web_csrf_refused_total",
		Help: "Form posts refused for a missing or wrong CSRF token or a foreign Origin."})
	m.feedFetches = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mailgate_feed_fetches_total",
		Help: "Dynamic-prefix feed fetches by carrier (304s included)."}, []string{"carrier"})
	m.reg.MustRegister(m.logins, m.probes, m.csrfRefused, m.feedFetches,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		scanCollector{}, edgeCollector{s})
	mailmetrics.Register(m.reg) // the mail services' sessions, messages, deliveries, logins
	if s.spool != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mailgate_queue_messages",
			Help: "Messages in the spool (queued for delivery)."}, func() float64 {
			ids, err := s.spool.IDs()
			if err != nil {
				return -1
			}
			return float64(len(ids))
		}), queueAgeGauge(s.spool))
	}
	return m
}

// scanCollector exports internal/scan's counters.
type scanCollector struct{}

var scanErrorsDesc = prometheus.NewDesc("mailgate_scanner_errors_total",
	"Scans a content scanner could not judge (down, timeout, protocol error).", []string{"scanner"}, nil)

func (scanCollector) Describe(ch chan<- *prometheus.Desc) { ch <- scanErrorsDesc }

func (scanCollector) Collect(ch chan<- prometheus.Metric) {
	for name, n := range scan.ErrorCounts() {
		ch <- prometheus.MustNewConstMetric(scanErrorsDesc, prometheus.CounterValue, float64(n), name)
	}
}

// edgeCollector exports the blocked port-25 attempts the edge routers
// recorded (store.AttemptsReport, summed per pool) at scrape time. They
// are gauges: pruning old attempts lowers them.
type edgeCollector struct{ s *Server }

var (
	edgeAttemptsDesc = prometheus.NewDesc("mailgate_edge_blocked_attempts",
		"Blocked port-25 connection attempts recorded by the edge routers, per pool.", []string{"pool"}, nil)
	edgeSourcesDesc = prometheus.NewDesc("mailgate_edge_blocked_sources",
		"Sources with blocked port-25 attempts recorded, per pool.", []string{"pool"}, nil)
)

func (edgeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- edgeAttemptsDesc
	ch <- edgeSourcesDesc
}

func (c edgeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	recs, err := c.s.st.AttemptsReport(ctx, 100000)
	if err != nil {
		c.s.log.Warn("metrics: edge attempts", "err", err)
		return
	}
	attempts, sources := map[string]uint64{}, map[string]int{}
	for _, r := range recs {
		attempts[r.Pool] += r.Attempts
		sources[r.Pool]++
	}
	for pool, n := range attempts {
		ch <- prometheus.MustNewConstMetric(edgeAttemptsDesc, prometheus.GaugeValue, float64(n), pool)
		ch <- prometheus.MustNewConstMetric(edgeSourcesDesc, prometheus.GaugeValue, float64(sources[pool]), pool)
	}
}

// serveMetrics answers only the sources in [web] metrics_allow: the
// operators' scraper, not the subscribers the same listener serves.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	a := clientAddr(r)
	for _, p := range s.metricsAllow {
		if p.Contains(a) {
			promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
			return
		}
	}
	http.NotFound(w, r)
}
