package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mailgate/internal/testpeer"
)

// unitLines are the lines of a unit that are key=value settings.
func unitLines(unit string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(unit, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			m[k] = v
		}
	}
	return m
}

// TestConfigSystemdDefault: without -c the unit runs the documented setup
// (README "Running as a service") as the mailgate user with only
// CAP_NET_BIND_SERVICE, and has no ExecReload: serve ignores SIGHUP.
func TestConfigSystemdDefault(t *testing.T) {
	t.Setenv("MAILGATE_CONFIG", "")
	out, err := runCLI(t, "config", "systemd")
	if err != nil {
		t.Fatal(err)
	}
	got := unitLines(out)
	for k, v := range map[string]string{
		"User": "mailgate", "Group": "mailgate",
		"ExecStart":               "/usr/local/bin/mailgate -c /etc/mailgate/mailgate.toml serve",
		"AmbientCapabilities":     "CAP_NET_BIND_SERVICE",
		"CapabilityBoundingSet":   "CAP_NET_BIND_SERVICE",
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ReadWritePaths":          "/var/lib/mailgate",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX AF_NETLINK",
		// 5 services × 10000 by default: above it.
		"LimitNOFILE":    "65536",
		"Restart":        "on-failure",
		"TimeoutStopSec": "30",
		"WantedBy":       "multi-user.target",
	} {
		if got[k] != v {
			t.Errorf("%s=%q, want %q\n%s", k, got[k], v, out)
		}
	}
	if _, ok := got["ExecReload"]; ok {
		t.Errorf("ExecReload set, but serve reloads nothing on SIGHUP:\n%s", out)
	}
}

// TestConfigSystemdFromConfig: with -c, data_dir, a SQLite database
// outside it, and the connection caps come from the file; a relative
// data_dir (a service starts in /) is refused.
func TestConfigSystemdFromConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "mailgate.toml")
	toml := "data_dir = \"/srv/mail\"\ndatabase = \"/srv/db/mailgate.db\"\n[limits]\nmax_connections = 30000\n[limits.imap]\nmax_connections = 60000\n"
	if err := os.WriteFile(file, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "-c", file, "config", "systemd")
	if err != nil {
		t.Fatal(err)
	}
	got := unitLines(out)
	// 4 × 30000 + 60000 = 180000 connections, plus the spare 1024.
	for k, v := range map[string]string{
		"ExecStart":      "/usr/local/bin/mailgate -c " + file + " serve",
		"ReadWritePaths": "/srv/mail /srv/db",
		"LimitNOFILE":    "181024",
	} {
		if got[k] != v {
			t.Errorf("%s=%q, want %q\n%s", k, got[k], v, out)
		}
	}
	if err := os.WriteFile(file, []byte("data_dir = \"mailgate-data\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "-c", file, "config", "systemd"); err == nil || !strings.Contains(err.Error(), `data_dir "mailgate-data": a service needs an absolute path`) {
		t.Errorf("relative data_dir: %v", err)
	}
}

// TestConfigSystemdVerifies: systemd-analyze verify (offline, no manager
// needed) accepts the unit without a warning: every key known, every
// value parsed. ExecStart must name an executable file, so the test's own
// binary stands in for /usr/local/bin/mailgate.
func TestConfigSystemdVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		testpeer.MissingPeer(t, "systemd-analyze not installed")
	}
	t.Setenv("MAILGATE_CONFIG", "")
	out, err := runCLI(t, "config", "systemd")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), "mailgate.service")
	if err := os.WriteFile(unit, []byte(strings.Replace(out, "/usr/local/bin/mailgate", self, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := exec.Command(analyze, "verify", "--man=no", "--generators=no", unit).CombinedOutput()
	if err != nil && strings.Contains(string(res), "Failed to connect") {
		t.Skipf("systemd-analyze verify needs a systemd manager here: %s", res)
	}
	if err != nil || len(res) != 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s\nunit:\n%s", err, res, out)
	}
}
