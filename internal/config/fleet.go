package config

import (
	"strings"
	"time"
)

// Fleet makes this node one of several sharing a PostgreSQL database and
// behaving as one server: every mailbox has a home node, mail for it is
// handed there over LMTP (RFC 2033), and IMAP/POP3 sessions are proxied
// there. Node-to-node traffic is TLS with certificates from one fleet CA
// on both sides. Off (listen = "") the node is a one-node server, as on
// SQLite, where a fleet cannot be enabled.
type Fleet struct {
	// Node is this node's name in the fleet (`node list`, `user list`),
	// and the DNS name its certificate must carry. Default: hostname.
	Node string `toml:"node"`
	// Listen is the internal listener (LMTP hand-off and access proxy),
	// host:port; "" disables the fleet.
	Listen string `toml:"listen"`
	// Address is what the other nodes dial to reach Listen; "" is Listen.
	Address string `toml:"address"`
	// CAFile is the fleet CA (PEM) that signed every node's certificate.
	CAFile string `toml:"ca_file"`
	// CertFile and KeyFile are this node's certificate, used as server and
	// as client: its DNS SAN must be Node, its extended key usage both
	// serverAuth and clientAuth.
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
	// Home is where `user add` puts a new mailbox: "least-loaded" (the
	// live node with the fewest mailboxes) or a node's name.
	Home string `toml:"home"`
	// Heartbeat is how often the node says it is alive; a node silent for
	// three heartbeats is not chosen as a new home.
	Heartbeat time.Duration `toml:"heartbeat"`
}

func defaultFleet() Fleet {
	return Fleet{Home: "least-loaded", Heartbeat: 10 * time.Second}
}

// Enabled reports whether this node is part of a fleet.
func (f Fleet) Enabled() bool { return f.Listen != "" }

// FleetNode is this node's fleet name: fleet.node, or the host name.
func (c *Config) FleetNode() string {
	if c.Fleet.Node != "" {
		return c.Fleet.Node
	}
	return strings.ToLower(c.Hostname)
}

// FleetAddress is the internal address the other nodes dial.
func (c *Config) FleetAddress() string {
	if c.Fleet.Address != "" {
		return c.Fleet.Address
	}
	return c.Fleet.Listen
}

func (c *Config) validateFleet(bad badFunc) {
	f := c.Fleet
	if f.Heartbeat < 100*time.Millisecond {
		bad("fleet.heartbeat", "%v is below 100ms", f.Heartbeat)
	}
	if f.Home == "" {
		bad("fleet.home", "must be \"least-loaded\" or a node's name")
	}
	if !f.Enabled() {
		return
	}
	if !strings.HasPrefix(c.DatabaseDSN(), "postgres://") && !strings.HasPrefix(c.DatabaseDSN(), "postgresql://") {
		bad("fleet.listen", "a fleet shares one PostgreSQL database: set database to a postgres:// URL, or fleet.listen to \"\" for a single node")
	}
	for key, addr := range map[string]string{"listen": f.Listen, "address": f.Address} {
		if addr == "" {
			continue
		}
		if err := checkHostPort(addr); err != nil {
			bad("fleet."+key, "%q is not host:port: %v", addr, err)
		}
	}
	if f.CAFile == "" || f.CertFile == "" || f.KeyFile == "" {
		bad("fleet.ca_file", "nodes authenticate each other with certificates: set ca_file, cert_file and key_file")
	}
}
