package config

import (
	"strings"
	"testing"
)

func TestSieveSettings(t *testing.T) {
	c, err := Load(write(t, "[sieve]\nmax_script_bytes = 131072\nmax_scripts = 3\nmax_redirects = 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Sieve != (Sieve{MaxScriptBytes: 131072, MaxScripts: 3, MaxRedirects: 1}) {
		t.Fatalf("sieve %+v", c.Sieve)
	}
	for body, key := range map[string]string{
		"[sieve]\nmax_script_bytes = 0\n":       "sieve.max_script_bytes",
		"[sieve]\nmax_script_bytes = 1048577\n": "sieve.max_script_bytes",
		"[sieve]\nmax_scripts = 0\n":            "sieve.max_scripts",
		"[sieve]\nmax_redirects = 0\n":          "sieve.max_redirects",
		"[sieve]\nmax_redirects = 101\n":        "sieve.max_redirects",
	} {
		_, err := Load(write(t, body))
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%q: got %v, want an error naming %s", body, err, key)
		}
	}
}
