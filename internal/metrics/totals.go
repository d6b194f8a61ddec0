package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Totals are the counters the console charts, as series name → count
// since the process started; a node writes their growth to the store
// (store.RecordNodeStats) so the charts cover the whole fleet:
//
//	in.mx, in.submission    messages accepted over SMTP (MX; 587 and 465)
//	out.delivered, out.deferred, out.failed   delivery attempts
//	reject.<code>           refusals by enhanced status code (RFC 3463)
//	login.failed, login.blocked               password checks
func Totals() map[string]int64 {
	out := map[string]int64{}
	each(Messages, func(l map[string]string, v int64) {
		if l["result"] != "accepted" {
			return
		}
		if l["service"] == "mx" {
			out["in.mx"] += v
		} else {
			out["in.submission"] += v
		}
	})
	each(Deliveries, func(l map[string]string, v int64) { out["out."+l["result"]] += v })
	each(Rejections, func(l map[string]string, v int64) { out["reject."+l["code"]] += v })
	each(Logins, func(l map[string]string, v int64) {
		if r := l["result"]; r == "failed" || r == "blocked" {
			out["login."+r] += v
		}
	})
	return out
}

// each calls fn with the labels and value of every counter of vec.
func each(vec *prometheus.CounterVec, fn func(labels map[string]string, v int64)) {
	ch := make(chan prometheus.Metric, 64)
	go func() { vec.Collect(ch); close(ch) }()
	for m := range ch {
		var d dto.Metric
		if m.Write(&d) != nil || d.Counter == nil {
			continue
		}
		l := map[string]string{}
		for _, lp := range d.Label {
			l[lp.GetName()] = lp.GetValue()
		}
		fn(l, int64(d.Counter.GetValue()))
	}
}
