package config

// Radius is the RADIUS accounting listener (RFC 2866) the BNG reports
// subscriber sessions to: which line held which address when.
type Radius struct {
	// SecretFile holds the shared secret (first line); never on argv or
	// in this file. Required when listen.radius_accounting is set.
	SecretFile string `toml:"secret_file"`
}

func (c *Config) validateRadius(bad badFunc) {
	if c.Listen.RadiusAccounting != "" && c.Radius.SecretFile == "" {
		bad("radius.secret_file", "listen.radius_accounting is set: name the file holding the shared secret")
	}
}
