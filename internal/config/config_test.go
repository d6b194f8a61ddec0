package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mailgate.toml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestExampleLoads(t *testing.T) {
	c, err := Load(write(t, Example))
	if err != nil {
		t.Fatalf("the printed example must load: %v", err)
	}
	if c.Hostname != "mail.isp.example" || c.Listen.Submission != "0.0.0.0:587" || c.Limits.CommandTimeout != 5*time.Minute {
		t.Fatalf("example values not applied: %+v", c)
	}
}

func TestDefaultsAreLoopbackPlus2000(t *testing.T) {
	d := Default()
	for key, addr := range d.Listen.byKey() {
		if addr != "" && !strings.HasPrefix(addr, "127.0.0.1:") {
			t.Errorf("listen.%s = %s, want loopback", key, addr)
		}
	}
	if d.Listen.RadiusAccounting != "" {
		t.Errorf("RADIUS accounting on by default (it needs a secret): %q", d.Listen.RadiusAccounting)
	}
	if d.Listen.Submission != "127.0.0.1:2587" || d.Listen.Submissions != "127.0.0.1:2465" || d.Listen.MX != "127.0.0.1:2525" {
		t.Errorf("zero-config ports: %+v", d.Listen)
	}
	if d.DatabaseDSN() != filepath.Join("mailgate-data", "mailgate.db") {
		t.Errorf("default database = %s", d.DatabaseDSN())
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestRefusesWithTheKeyName(t *testing.T) {
	cases := map[string]string{
		"hostnme = \"x\"\n":                                  "hostnme",
		"[listen]\nsubmision = \"127.0.0.1:1\"\n":            "listen.submision",
		"[listen]\nsubmission = \"nonsense\"\n":              "listen.submission",
		"[limits]\nmax_recipients = 0\n":                     "limits.max_recipients",
		"[limits]\nmax_line_length = 200\n":                  "limits.max_line_length",
		"[limits]\nmax_auth_failures = 1\n":                  "limits.max_auth_failures",
		"[limits]\ncommand_timeout = \"soon\"\n":             "command_timeout",
		"[log]\nlevel = \"loud\"\n":                          "log.level",
		"[tls]\ncert_file = \"/x.pem\"\n":                    "tls",
		"[tls]\nticket_key_rotation = \"10s\"\n":             "tls.ticket_key_rotation",
		"[tls]\nticket_key_rotation = \"never\"\n":           "ticket_key_rotation",
		"hostname = \"bad host\"\n":                          "hostname",
		"hostname = \"" + strings.Repeat("a.", 127) + "\"\n": "hostname",
		"[limits]\nmax_message_bytes = \"big\"\n":            "max_message_bytes",
		"[limits]\nmax_connections = 0\n":                    "limits.max_connections",
		"[limits]\nmax_connections_per_ip = 0\n":             "limits.max_connections_per_ip",
		"[limits.imap]\nmax_connections = -1\n":              "limits.imap.max_connections",
		"[limits.pop3]\nmax_connections_per_ip = 20000\n":    "limits.pop3.max_connections_per_ip",
		"[limits]\nlogin_timeout = \"10ms\"\n":               "limits.login_timeout",
		"[limits]\nsession_timeout = \"5m\"\n":               "limits.session_timeout",
		"[limits.smtp]\nmax_connections = 5\n":               "limits.smtp",
	}
	for body, key := range cases {
		_, err := Load(write(t, body))
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("config %q: error %v does not name %s", body, err, key)
		}
	}
}

func TestServiceTablesOverrideConnectionLimits(t *testing.T) {
	c, err := Load(write(t, "[limits]\nmax_connections_per_ip = 10\nmax_connections = 500\n[limits.imap]\nmax_connections_per_ip = 200\n[limits.mx]\nmax_connections = 100\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Connections{
		"imap":       {MaxConnectionsPerIP: 200, MaxConnections: 500},
		"mx":         {MaxConnectionsPerIP: 10, MaxConnections: 100},
		"pop3":       {MaxConnectionsPerIP: 10, MaxConnections: 500},
		"submission": {MaxConnectionsPerIP: 10, MaxConnections: 500},
	}
	for svc, w := range want {
		if got := c.Limits.ConnectionLimits(svc); got != w {
			t.Errorf("%s: %+v, want %+v", svc, got, w)
		}
	}
	// Issue 13 §4: Postfix's smtp client opens up to 20 connections to one
	// destination, its smtpd allows 50 per client.
	if d := Default().Limits.ConnectionLimits("mx"); d.MaxConnectionsPerIP < 50 {
		t.Errorf("default MX per-IP cap %d turns away a large ordinary sender", d.MaxConnectionsPerIP)
	}
}

// TestTicketKeyRotation: 12h by default; a duration, or "off" / "0s" for
// no session tickets.
func TestTicketKeyRotation(t *testing.T) {
	for body, want := range map[string]time.Duration{
		"":                                       12 * time.Hour,
		"[tls]\nticket_key_rotation = \"30m\"\n": 30 * time.Minute,
		"[tls]\nticket_key_rotation = \"off\"\n": 0,
		"[tls]\nticket_key_rotation = \"0s\"\n":  0,
	} {
		c, err := Load(write(t, body))
		if err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		if got := time.Duration(c.TLS.TicketKeyRotation); got != want {
			t.Errorf("%q: rotation %v, want %v", body, got, want)
		}
	}
}

// TestRefusesAPortThatIsNoPort: a listen or dial address is checked as far
// as its port, so "config check" catches what serve would fail on.
func TestRefusesAPortThatIsNoPort(t *testing.T) {
	for body, want := range map[string]string{
		"[listen]\nmx = \"127.0.0.1:99999\"\n":          `listen.mx: "127.0.0.1:99999" is not host:port: port "99999" is not a number from 0 to 65535`,
		"[listen]\nimap = \"127.0.0.1:\"\n":             `listen.imap: "127.0.0.1:" is not host:port: no port after the colon`,
		"[delivery]\nsmarthost = \"relay.example:x\"\n": `delivery.smarthost: "relay.example:x" is not host:port: port "x" is not a number`,
		"[dns]\nservers = [\"127.0.0.1:70000\"]\n":      `dns.servers: "127.0.0.1:70000" is not host:port`,
		"[edge]\ndnsbl_listen = \"127.0.0.1\"\n":        `edge.dnsbl_listen: "127.0.0.1" is not host:port: address 127.0.0.1: missing port in address`,
	} {
		_, err := Load(write(t, body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v; want %s", body, err, want)
		}
	}
	if _, err := Load(write(t, "[listen]\nmx = \"127.0.0.1:0\"\nimap = \"[::1]:2143\"\n")); err != nil {
		t.Errorf("port 0 (any free port) and an IPv6 host are valid: %v", err)
	}
}

// TestDurationWithoutUnitSaysHowToWriteOne: "5" is a common first try.
func TestDurationWithoutUnitSaysHowToWriteOne(t *testing.T) {
	_, err := Load(write(t, "[limits]\ncommand_timeout = \"5\"\n"))
	if err == nil || !strings.Contains(err.Error(), `limits.command_timeout`) || !strings.Contains(err.Error(), `write a duration as a number with a unit: "30s", "5m", "1h30m"`) {
		t.Fatalf("err = %v", err)
	}
}
