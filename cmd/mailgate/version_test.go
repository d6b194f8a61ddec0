package main

import (
	"encoding/json"
	"reflect"
	"testing"

	"mailgate/internal/buildinfo"
)

// TestVersion: `mailgate version`, `--version` and `-v` print one line,
// the build as buildinfo reads it; --json the same values as an object.
func TestVersion(t *testing.T) {
	want := "mailgate " + buildinfo.Read().String() + "\n"
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		if out, err := runCLI(t, args...); err != nil || out != want {
			t.Errorf("mailgate %v: %v, %q; want %q", args, err, out, want)
		}
	}
	out, err := runCLI(t, "version", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var got buildinfo.Info
	if err := json.Unmarshal([]byte(out), &got); err != nil || !reflect.DeepEqual(got, buildinfo.Read()) {
		t.Errorf("version --json: %q (%v), want %+v", out, err, buildinfo.Read())
	}
}
