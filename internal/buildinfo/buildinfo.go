// Package buildinfo says which build of mailgate is running: the module
// version and the version-control stamp the go command records in the
// binary (runtime/debug), for `mailgate version`, the first line `serve`
// prints and the mailgate_build_info metric, so that all three agree.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Info is one build. Revision, Time and Modified are known only for a
// binary built by `go build` inside a checkout (-buildvcs, the default);
// `go run` and `go test` binaries and builds from a tarball lack them.
type Info struct {
	// Version is the module version: a tag, a pseudo-version made from
	// the commit (Go 1.24 on), or "(devel)".
	Version string `json:"version"`
	// Revision is the commit built (vcs.revision).
	Revision string `json:"revision,omitempty"`
	// Time is the commit's time, RFC 3339 (vcs.time).
	Time string `json:"time,omitempty"`
	// Modified says the tree had uncommitted changes (vcs.modified); nil
	// when the build has no stamp.
	Modified *bool `json:"modified,omitempty"`
	// GoVersion is the toolchain that built the binary.
	GoVersion string `json:"go_version"`
}

// Read returns the running binary's build.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return Info{Version: "(devel)", GoVersion: runtime.Version()}
	}
	return FromBuildInfo(bi)
}

// FromBuildInfo is Read for a given debug.BuildInfo.
func FromBuildInfo(bi *debug.BuildInfo) Info {
	i := Info{Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if i.Version == "" {
		i.Version = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Revision = s.Value
		case "vcs.time":
			i.Time = s.Value
		case "vcs.modified":
			m := s.Value == "true"
			i.Modified = &m
		}
	}
	return i
}

// String is the one-line form `mailgate version` prints:
//
//	v0.0.0-20261202115120-5bc239f0c1a2+dirty (revision 5bc239f0c1a2, 2026-12-02T11:51:20Z, modified) go1.26.8
func (i Info) String() string {
	var stamp []string
	if i.Revision != "" {
		stamp = append(stamp, "revision "+short(i.Revision))
	}
	if i.Time != "" {
		stamp = append(stamp, i.Time)
	}
	if i.Modified != nil && *i.Modified {
		stamp = append(stamp, "modified")
	}
	s := i.Version
	if len(stamp) > 0 {
		s += " (" + strings.Join(stamp, ", ") + ")"
	}
	return fmt.Sprintf("%s %s", s, i.GoVersion)
}

// short is a commit hash as git abbreviates it in pseudo-versions: 12
// hex digits.
func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}
