package e2e

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// TestVersionAgreesEverywhere: `mailgate version --json` says what `go
// version -m` reads from the binary (module version, VCS stamp when the
// build has one, Go version); `version`, `--version` and the first line
// `serve` prints are one line; /metrics has mailgate_build_info 1 with
// the same values, and the first log line names the version.
func TestVersionAgreesEverywhere(t *testing.T) {
	NeedTool(t, "curl")
	NeedTool(t, "go")
	n := NewNode(t, "", "")
	var got struct {
		Version   string `json:"version"`
		Revision  string `json:"revision"`
		Time      string `json:"time"`
		Modified  *bool  `json:"modified"`
		GoVersion string `json:"go_version"`
	}
	if err := json.Unmarshal([]byte(n.MustCLI("", "version", "--json")), &got); err != nil {
		t.Fatal(err)
	}
	m, err := exec.Command("go", "version", "-m", binary).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, l := range strings.Split(string(m), "\n") {
		f := strings.Split(strings.TrimSpace(l), "\t")
		switch {
		case len(f) >= 3 && f[0] == "mod":
			want["version"] = f[2]
		case len(f) == 2 && f[0] == "build" && strings.HasPrefix(f[1], "vcs."):
			k, v, _ := strings.Cut(f[1], "=")
			want[k] = v
		case strings.HasPrefix(l, binary+": "):
			want["go"] = strings.TrimPrefix(l, binary+": ")
		}
	}
	modified := ""
	if got.Modified != nil {
		modified = fmt.Sprint(*got.Modified)
	}
	if got.Version != want["version"] || got.Revision != want["vcs.revision"] || got.Time != want["vcs.time"] || modified != want["vcs.modified"] || got.GoVersion != want["go"] {
		t.Errorf("version --json: %+v (modified %q), go version -m says %v", got, modified, want)
	}

	line := n.MustCLI("", "version")
	if !strings.HasPrefix(line, "mailgate "+got.Version+" ") || !strings.HasSuffix(line, " "+got.GoVersion+"\n") || strings.Count(line, "\n") != 1 {
		t.Errorf("version: %q", line)
	}
	if out := n.MustCLI("", "--version"); out != line {
		t.Errorf("--version: %q, want %q", out, line)
	}
	n.Start()
	if first, _, _ := strings.Cut(n.Log(), "\n"); first+"\n" != line {
		t.Errorf("serve's first line %q, want %q", first, line)
	}
	stamp := ""
	if got.Revision != "" {
		stamp = " revision=" + got.Revision
	}
	if modified != "" {
		stamp += " modified=" + modified
	}
	if !strings.Contains(n.Log(), fmt.Sprintf("msg=starting version=%s%s go=%s\n", got.Version, stamp, got.GoVersion)) {
		t.Errorf("no starting line with the version in the log:\n%s", n.Log())
	}
	_, metrics := curl(t, fmt.Sprintf("http://127.0.0.1:%d/metrics", n.Ports["http"]))
	gauge := fmt.Sprintf("mailgate_build_info{goversion=%q,revision=%q,version=%q} 1\n", got.GoVersion, got.Revision, got.Version)
	if !strings.Contains(metrics, gauge) {
		t.Errorf("/metrics lacks %q:\n%s", gauge, metrics)
	}
}
