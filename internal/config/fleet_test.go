package config

import (
	"strings"
	"testing"
)

// TestFleetNeedsPostgresAndCertificates: a fleet on SQLite, or without its
// certificates, is refused at load, naming the key; off, nothing is needed.
func TestFleetNeedsPostgresAndCertificates(t *testing.T) {
	if _, err := Load(write(t, "[fleet]\nnode = \"a\"\n")); err != nil {
		t.Fatalf("fleet off must load on SQLite: %v", err)
	}
	cases := map[string]string{
		"[fleet]\nlisten = \"127.0.0.1:7025\"\nca_file = \"c\"\ncert_file = \"c\"\nkey_file = \"k\"\n":                           "fleet.listen: a fleet shares one PostgreSQL",
		"database = \"postgres://db/x\"\n[fleet]\nlisten = \"127.0.0.1:7025\"\n":                                                 "fleet.ca_file",
		"database = \"postgres://db/x\"\n[fleet]\nlisten = \"nonsense\"\nca_file = \"c\"\ncert_file = \"c\"\nkey_file = \"k\"\n": "fleet.listen: \"nonsense\"",
		"[fleet]\nheartbeat = \"1ms\"\n": "fleet.heartbeat",
	}
	for body, want := range cases {
		_, err := Load(write(t, body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want it to name %q", body, err, want)
		}
	}
	c, err := Load(write(t, "database = \"postgres://db/x\"\nhostname = \"Mail.Example\"\n[fleet]\nlisten = \"127.0.0.1:7025\"\nca_file = \"c\"\ncert_file = \"c\"\nkey_file = \"k\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.FleetNode() != "mail.example" || c.FleetAddress() != "127.0.0.1:7025" || !c.Fleet.Enabled() {
		t.Fatalf("fleet defaults: node %q address %q", c.FleetNode(), c.FleetAddress())
	}
}
