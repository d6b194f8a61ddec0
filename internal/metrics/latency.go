package metrics

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The latencies of the node's dependencies (content scanners, upstream
// DNS), the resolver cache's hits, SMTP refusals by reason and the edge
// policy's decisions.

// latencyBuckets span a fast local answer (a cached resolver on the LAN,
// clamd on a small message) to the timeouts (30 s).
var latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

var (
	// ScanSeconds times each call of a content scanner (rspamd, clamd),
	// failed calls included.
	ScanSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "mailgate_scanner_seconds",
		Help:    "Content scanner calls (rspamd, clamd) by scanner, failures included.",
		Buckets: latencyBuckets,
	}, []string{"scanner"})
	// DNSUpstreamSeconds times each query the caching resolver sends to
	// an upstream server (dns.servers), by result: ok, nxdomain (an
	// answer saying no such name or record) or error (timeout, SERVFAIL).
	DNSUpstreamSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "mailgate_dns_upstream_seconds",
		Help:    "Queries to the upstream DNS servers by result (ok, nxdomain, error).",
		Buckets: latencyBuckets,
	}, []string{"result"})
	// DNSCache counts the caching resolver's lookups: hit or miss.
	DNSCache = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailgate_dns_cache_lookups_total",
		Help: "Lookups of the node's caching resolver by result (hit, miss).",
	}, []string{"result"})
	// Rejections counts the SMTP commands and messages refused (4xx and
	// 5xx) by service and enhanced status code (RFC 3463), which names
	// the reason: 5.1.1 no such mailbox, 5.7.1 not authorised, ...
	Rejections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailgate_smtp_rejections_total",
		Help: "Refused SMTP commands and messages by service and enhanced status code (RFC 3463).",
	}, []string{"service", "code"})
	// EdgeDecisions counts the OP25B policy's evaluations on this node
	// (the self-check, `edge check`) by the step that settled them.
	EdgeDecisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailgate_edge_decisions_total",
		Help: "OP25B policy evaluations on this node (self-check, edge check) by deciding step.",
	}, []string{"step"})
)

func registerLatency(reg prometheus.Registerer) {
	reg.MustRegister(ScanSeconds, DNSUpstreamSeconds, DNSCache, Rejections, EdgeDecisions)
}

// ObserveScan records a scanner call that began at start:
// defer metrics.ObserveScan("clamd", time.Now()).
func ObserveScan(scanner string, start time.Time) {
	ScanSeconds.WithLabelValues(scanner).Observe(time.Since(start).Seconds())
}

// Rejected counts a refusal with code (a 4xx or 5xx reply) and enhanced
// code class.subject.detail; other codes are not refusals.
func Rejected(service string, code int, enhanced [3]int) {
	if code < 400 || code > 599 {
		return
	}
	if enhanced[0] <= 0 { // not set: go-smtp sends X.0.0
		enhanced = [3]int{code / 100, 0, 0}
	}
	reason := fmt.Sprintf("%d.%d.%d", enhanced[0], enhanced[1], enhanced[2])
	Rejections.WithLabelValues(service, reason).Inc()
}
