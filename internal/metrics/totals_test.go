package metrics

import (
	"testing"
)

func TestTotalsNameTheChartSeries(t *testing.T) {
	before := Totals()
	Messages.WithLabelValues("mx", "accepted").Inc()
	Messages.WithLabelValues("submissions", "accepted").Add(2)
	Messages.WithLabelValues("mx", "refused").Inc() // counted as a rejection, not "in"
	Deliveries.WithLabelValues("deferred").Inc()
	Rejected("mx", 550, [3]int{5, 1, 1})
	Rejected("submission", 550, [3]int{5, 1, 1})
	Rejected("mx", 421, [3]int{0, 0, 0}) // not set: go-smtp sends 4.0.0
	Rejected("mx", 250, [3]int{2, 0, 0}) // no refusal
	Logins.WithLabelValues("blocked").Inc()
	Logins.WithLabelValues("ok").Inc()
	got := Totals()
	for series, want := range map[string]int64{"in.mx": 1, "in.submission": 2, "out.deferred": 1, "reject.5.1.1": 2, "reject.4.0.0": 1, "login.blocked": 1} {
		if d := got[series] - before[series]; d != want {
			t.Errorf("%s grew by %d, want %d", series, d, want)
		}
	}
	for series := range got {
		if series == "login.ok" || series == "reject.2.0.0" {
			t.Errorf("Totals has %s", series)
		}
	}
}
