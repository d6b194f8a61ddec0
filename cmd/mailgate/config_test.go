package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigCheckReadsMailgateConfig: "every command takes -c, or
// MAILGATE_CONFIG" (README) holds for config check too, and without
// either it says both ways.
func TestConfigCheckReadsMailgateConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "mailgate.toml")
	if err := os.WriteFile(file, []byte("[limits]\nmax_recipients = 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MAILGATE_CONFIG", "")
	if _, err := runCLI(t, "config", "check"); err == nil || err.Error() != "give the file to check with -c FILE (or MAILGATE_CONFIG=FILE)" {
		t.Errorf("no file: %v", err)
	}
	t.Setenv("MAILGATE_CONFIG", file)
	if _, err := runCLI(t, "config", "check"); err == nil || !strings.Contains(err.Error(), "limits.max_recipients") {
		t.Errorf("MAILGATE_CONFIG with a bad value: %v", err)
	}
	if err := os.WriteFile(file, []byte("hostname = \"mail.isp.example\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runCLI(t, "config", "check"); err != nil || out != file+": OK\n" {
		t.Errorf("MAILGATE_CONFIG with a good file: %q, %v", out, err)
	}
}

// TestConfigCheckOpensTheFilesSettingsName: the example's certificate
// paths do not exist here, and config check says so by key instead of OK.
func TestConfigCheckOpensTheFilesSettingsName(t *testing.T) {
	file := filepath.Join(t.TempDir(), "mailgate.toml")
	if err := os.WriteFile(file, []byte("[tls]\ncert_file = \"/nonexistent/fullchain.pem\"\nkey_file = \"/nonexistent/privkey.pem\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := runCLI(t, "-c", file, "config", "check")
	if err == nil || !strings.Contains(err.Error(), "config "+file+": tls.cert_file: open /nonexistent/fullchain.pem: no such file or directory") {
		t.Fatalf("config check: %v", err)
	}
}
