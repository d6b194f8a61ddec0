package edge

import (
	"github.com/prometheus/client_golang/prometheus"

	"mailgate/internal/metrics"
)

// stepNames label metrics.EdgeDecisions.
var stepNames = [...]string{StepPort: "port", StepNoPool: "no_pool", StepStatic: "static",
	StepExempt: "exempt", StepRelay: "relay", StepScope: "scope", StepBlock: "block"}

// decisionCounters are looked up once: Evaluate runs per address in
// tests and reports that walk whole pools.
var decisionCounters = func() (c [len(stepNames)]prometheus.Counter) {
	for i, n := range stepNames {
		c[i] = metrics.EdgeDecisions.WithLabelValues(n)
	}
	return c
}()

// countDecision counts an Evaluate result by the step that settled it.
func countDecision(d *Decision) {
	if int(d.Step) < len(decisionCounters) {
		decisionCounters[d.Step].Inc()
	}
}
