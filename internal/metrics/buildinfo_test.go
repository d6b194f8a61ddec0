package metrics

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"mailgate/internal/buildinfo"
)

// TestBuildInfoGauge: the registry has mailgate_build_info 1, labelled
// with the version, revision and Go version `mailgate version` prints.
func TestBuildInfoGauge(t *testing.T) {
	reg := prometheus.NewRegistry()
	Register(reg)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	bi := buildinfo.Read()
	want := map[string]string{"version": bi.Version, "revision": bi.Revision, "goversion": bi.GoVersion}
	for _, mf := range mfs {
		if mf.GetName() != "mailgate_build_info" {
			continue
		}
		if len(mf.GetMetric()) != 1 {
			t.Fatalf("mailgate_build_info has %d series, want 1", len(mf.GetMetric()))
		}
		m := mf.GetMetric()[0]
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if len(got) != len(want) || got["version"] != want["version"] || got["revision"] != want["revision"] || got["goversion"] != want["goversion"] {
			t.Errorf("labels %v, want %v", got, want)
		}
		if v := m.GetGauge().GetValue(); v != 1 {
			t.Errorf("value %v, want 1", v)
		}
		return
	}
	t.Fatal("no mailgate_build_info")
}
