// Package metrics holds the counters the mail services keep for
// Prometheus: sessions and messages by service and result, delivery
// outcomes, logins. They are process-wide, as Prometheus counters are;
// the web server's /metrics registers them (Register).
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"mailgate/internal/buildinfo"
)

var (
	// Sessions counts SMTP sessions by service (mx, submission,
	// submissions), from EHLO/HELO on.
	Sessions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailgate_smtp_sessions_total",
		Help: "SMTP sessions by service, from EHLO/HELO on.",
	}, []string{"service"})
	// Messages counts message transactions at the end of DATA by service
	// and result: accepted (250), refused (5xx), deferred (4xx).
	Messages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailgate_messages_total",
		Help: "Messages at the end of DATA by service and result (accepted, refused, deferred).",
	}, []string{"service", "result"})
	// Deliveries counts delivery attempts per recipient by result:
	// delivered, deferred (a temporary failure), failed (permanent).
	Deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailgate_delivery_attempts_total",
		Help: "Delivery attempts per recipient by result (delivered, deferred, failed).",
	}, []string{"result"})
	// Logins counts password checks of every service by result: ok,
	// failed, blocked (the throttle), unavailable.
	Logins = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailgate_logins_total",
		Help: "Password checks of every service by result (ok, failed, blocked, unavailable).",
	}, []string{"result"})
	// SRSBouncesLimited counts bounces to SRS addresses the MX deferred
	// (450 4.7.1) by the limit they hit ([srs] bounce_rate): domain (the
	// domain the bounce would go on to) or client (the sending address).
	SRSBouncesLimited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "mailgate_srs_bounces_limited_total",
		Help: "Bounces to SRS addresses deferred by the rate limits, by limit (domain, client).",
	}, []string{"limit"})
)

// Register adds the counters to reg, and the build gauge.
func Register(reg prometheus.Registerer) {
	reg.MustRegister(Sessions, Messages, Deliveries, Logins, SRSBouncesLimited, buildInfo(buildinfo.Read()))
	registerLatency(reg)
}

// buildInfo is the gauge mailgate_build_info{version,revision,goversion} 1,
// the usual Prometheus way to say which build runs (a fleet mid-upgrade
// shows two), with the version, revision and Go version `mailgate version`
// prints (a build from a modified tree shows as "+dirty" in the version).
func buildInfo(bi buildinfo.Info) prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "mailgate_build_info",
		Help:        "The running build: module version, VCS revision and Go version as labels; always 1.",
		ConstLabels: prometheus.Labels{"version": bi.Version, "revision": bi.Revision, "goversion": bi.GoVersion},
	}, func() float64 { return 1 })
}

// SMTPResult names an SMTP reply code's class for Messages.
func SMTPResult(code int) string {
	switch {
	case code >= 200 && code < 300:
		return "accepted"
	case code >= 400 && code < 500:
		return "deferred"
	default:
		return "refused"
	}
}
