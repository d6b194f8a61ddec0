package buildinfo

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"testing"
)

// TestStampedBuild: a binary built in a checkout names its version, the
// commit (12 digits in the line, all of them in JSON), the commit's time,
// a tree with uncommitted changes, and the Go version.
func TestStampedBuild(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "mailgate", Version: "v0.0.0-20261202115120-5bc239f0c1a2+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "-compiler", Value: "gc"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "5bc239f0c1a2d3e4f5a6b7c8d9e0f1a2b3c4d5e6"},
			{Key: "vcs.time", Value: "2026-12-02T11:51:20Z"},
			{Key: "vcs.modified", Value: "true"},
		}}
	i := FromBuildInfo(bi)
	const line = "v0.0.0-20261202115120-5bc239f0c1a2+dirty (revision 5bc239f0c1a2, 2026-12-02T11:51:20Z, modified) go1.26.8"
	if got := i.String(); got != line {
		t.Errorf("line %q, want %q", got, line)
	}
	b, _ := json.Marshal(i)
	const js = `{"version":"v0.0.0-20261202115120-5bc239f0c1a2+dirty","revision":"5bc239f0c1a2d3e4f5a6b7c8d9e0f1a2b3c4d5e6","time":"2026-12-02T11:51:20Z","modified":true,"go_version":"go1.26.8"}`
	if string(b) != js {
		t.Errorf("JSON %s, want %s", b, js)
	}
	bi.Settings[4].Value = "false"
	if got := FromBuildInfo(bi).String(); got != "v0.0.0-20261202115120-5bc239f0c1a2+dirty (revision 5bc239f0c1a2, 2026-12-02T11:51:20Z) go1.26.8" {
		t.Errorf("clean tree: %q", got)
	}
}

// TestUnstampedBuild: `go run`, `go test` and builds outside a checkout
// have no VCS stamp and no module version: the line says (devel) and the
// Go version, the JSON leaves the stamp out rather than claim a clean tree.
func TestUnstampedBuild(t *testing.T) {
	i := FromBuildInfo(&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "mailgate"}})
	if got := i.String(); got != "(devel) go1.26.8" {
		t.Errorf("line %q", got)
	}
	if b, _ := json.Marshal(i); string(b) != `{"version":"(devel)","go_version":"go1.26.8"}` {
		t.Errorf("JSON %s", b)
	}
	if got := Read(); got.GoVersion != runtime.Version() || got.Version == "" {
		t.Errorf("Read() = %+v", got)
	}
}
