// Package config loads mailgate's TOML configuration, fills in the zero-config
// defaults (loopback, standard port + 2000, ./mailgate-data, SQLite) and
// validates every value before anything starts listening.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole of mailgate's configuration.
type Config struct {
	// Hostname is this node's name: SMTP greeting, Received headers,
	// the self-signed certificate's SAN.
	Hostname string `toml:"hostname"`
	// DataDir holds the spool, the mailboxes, the SQLite database and
	// the generated certificate.
	DataDir string `toml:"data_dir"`
	// Database is a SQLite file path or a postgres:// URL. Empty means
	// <data_dir>/mailgate.db.
	Database string `toml:"database"`

	TLS    TLS    `toml:"tls"`
	Listen Listen `toml:"listen"`
	Limits Limits `toml:"limits"`
	Log    Log    `toml:"log"`

	Delivery Delivery `toml:"delivery"`
	DNS      DNS      `toml:"dns"`
	Edge     Edge     `toml:"edge"`
	Radius   Radius   `toml:"radius"`
	Abuse    Abuse    `toml:"abuse"`
	Scan     Scan     `toml:"scan"`
	Sieve    Sieve    `toml:"sieve"`
	SRS      SRS      `toml:"srs"`
	ARC      ARC      `toml:"arc"`
	Mailbox  Mailbox  `toml:"mailbox"`
	IMAP     IMAP     `toml:"imap"`

	Reputation Reputation `toml:"reputation"`
	Auth       Auth       `toml:"auth"`
	Publish    Publish    `toml:"publish"`
	// DMARCReports sends DMARC aggregate reports.
	DMARCReports DMARCReports `toml:"dmarc_reports"`
	Web          Web          `toml:"web"`
	Fleet        Fleet        `toml:"fleet"`
}

// Delivery tunes the outbound queue: retries, lifetime, TLS policy, relay.
type Delivery struct {
	// Workers is how many deliveries run at once on this node.
	Workers int `toml:"workers"`
	// RetryInitial is the wait after the first failed attempt; each later
	// wait doubles, up to RetryMax.
	RetryInitial time.Duration `toml:"retry_initial"`
	RetryMax     time.Duration `toml:"retry_max"`
	// Lifetime is how long a message may stay queued before it bounces.
	Lifetime time.Duration `toml:"lifetime"`
	// DelayWarning sends one "delayed" DSN after this long; 0 disables it.
	DelayWarning time.Duration `toml:"delay_warning"`
	// ScanInterval is how often the whole queue is checked for due work.
	ScanInterval time.Duration `toml:"scan_interval"`
	// ConcurrencyPerDestination caps parallel connections per domain.
	ConcurrencyPerDestination int `toml:"concurrency_per_destination"`
	// ConnectTimeout bounds each TCP connect to a remote MX.
	ConnectTimeout time.Duration `toml:"connect_timeout"`
	// Smarthost, host:port, sends every remote message through one relay
	// instead of the recipients' MX hosts.
	Smarthost             string `toml:"smarthost"`
	SmarthostUsername     string `toml:"smarthost_username"`
	SmarthostPasswordFile string `toml:"smarthost_password_file"`
	// TLSRequired lists domains whose mail must go over STARTTLS.
	TLSRequired []string `toml:"tls_required"`
	// MTASTS enables RFC 8461 policy fetch and enforcement.
	MTASTS bool `toml:"mta_sts"`
	// DANE enables RFC 7672 DANE for MX hosts with DNSSEC-validated TLSA
	// records; it needs dns.servers (a validating resolver's AD bit).
	DANE bool `toml:"dane"`
	// CAFile adds trusted CAs (PEM) for verified TLS: MTA-STS, smarthost.
	CAFile string `toml:"ca_file"`
	// RemotePort is the port of remote MX hosts (25; tests change it).
	RemotePort int `toml:"remote_port"`
	// MTASTSPort is the HTTPS port of policy hosts (443; tests change it).
	MTASTSPort int `toml:"mta_sts_port"`
	// LocalBeforeAck makes the MX deliver to mailboxes homed on this node
	// before its 250, as an LMTP server does; only the rest goes through
	// the spool. false: every message is spooled first (the earlier path,
	// kept selectable for one release).
	LocalBeforeAck bool `toml:"local_before_ack"`
}

// DNS selects the resolver. No servers: the system resolver.
type DNS struct {
	Servers []string      `toml:"servers"`
	Timeout time.Duration `toml:"timeout"`
}

// TLS names the certificate files. Both empty: a self-signed ECDSA
// certificate is generated under data_dir on first start and reused.
type TLS struct {
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`
	// TicketKeyRotation is how long one session ticket key encrypts new
	// tickets before a new one replaces it; the store keeps the keys so
	// every node of a fleet resumes every other's sessions (RFC 8446
	// §2.2), and TicketKeysKept earlier keys still decrypt. 0 ("off")
	// turns session tickets, and so resumption, off.
	TicketKeyRotation OffDuration `toml:"ticket_key_rotation"`
}

// OffDuration is a duration in Go's form ("12h") where "off" means 0.
type OffDuration time.Duration

// UnmarshalText reads "off" or a duration.
func (d *OffDuration) UnmarshalText(b []byte) error {
	if string(b) == "off" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is neither a duration (\"12h\") nor \"off\"", b)
	}
	*d = OffDuration(v)
	return nil
}

// MarshalText writes "off" for 0.
func (d OffDuration) MarshalText() ([]byte, error) {
	if d == 0 {
		return []byte("off"), nil
	}
	return []byte(time.Duration(d).String()), nil
}

// TicketKeysKept is how many keys before the current one still decrypt
// tickets: a ticket stays good for two rotations after its key is
// replaced.
const TicketKeysKept = 2

// Listen holds one address per service; an empty string disables it.
type Listen struct {
	MX          string `toml:"mx"`
	Submission  string `toml:"submission"`
	Submissions string `toml:"submissions"`
	POP3        string `toml:"pop3"`
	POP3S       string `toml:"pop3s"`
	IMAP        string `toml:"imap"`
	IMAPS       string `toml:"imaps"`
	ManageSieve string `toml:"managesieve"`
	HTTP        string `toml:"http"`
	HTTPS       string `toml:"https"` // the web server over TLS (internal/web)
	// RadiusAccounting is a UDP address for the BNG's RADIUS accounting
	// (RFC 2866); "" (the default) serves none.
	RadiusAccounting string `toml:"radius_accounting"`
}

// Limits bound what one client may ask of us.
type Limits struct {
	MaxMessageBytes int64         `toml:"max_message_bytes"`
	MaxRecipients   int           `toml:"max_recipients"`
	MaxLineLength   int           `toml:"max_line_length"`
	CommandTimeout  time.Duration `toml:"command_timeout"`
	DataTimeout     time.Duration `toml:"data_timeout"`
	// MaxAuthFailures closes a session after that many failed AUTH
	// attempts (RFC 4954 §9: not before 3).
	MaxAuthFailures int `toml:"max_auth_failures"`
	// MaxErrors closes an SMTP connection after that many refused
	// commands, go-smtp's own refusals included (Postfix's
	// smtpd_hard_error_limit).
	MaxErrors int `toml:"max_errors"`
	// GreetPause delays the MX greeting to catch clients that talk first
	// (postscreen's pregreet test); 0 checks only what already arrived.
	GreetPause time.Duration `toml:"greet_pause"`
	// RecipientsPerDay and MessagesPerDay bound what one account sends
	// over a rolling 24 hours (0: no limit); `user limits` overrides them
	// per account. Local deliveries do not count.
	RecipientsPerDay int `toml:"recipients_per_day"`
	MessagesPerDay   int `toml:"messages_per_day"`
	// OverLimit is the reply past a daily limit: "reject" (550 5.7.1) or
	// "defer" (451 4.7.1).
	OverLimit string `toml:"over_limit"`

	// The connection caps of every service (internal/netlimit), unless
	// its own table below overrides them.
	Connections
	// LoginTimeout closes IMAP, POP3 and submission connections that have
	// not authenticated that long after connecting.
	LoginTimeout time.Duration `toml:"login_timeout"`
	// SessionTimeout bounds a whole MX session, however active (a client
	// sending NOOP every command_timeout would otherwise keep its slot).
	SessionTimeout time.Duration `toml:"session_timeout"`
	// Per-service overrides ([limits.imap] ...); a zero keeps the value
	// above. submission covers 587 and 465, pop3 110 and 995, imap 143
	// and 993: a client's connections to both ports count together.
	MX         Connections `toml:"mx"`
	Submission Connections `toml:"submission"`
	POP3       Connections `toml:"pop3"`
	IMAP       Connections `toml:"imap"`
	// ManageSieve covers 4190.
	ManageSieve Connections `toml:"managesieve"`
}

// Connections caps one service's concurrent connections.
type Connections struct {
	// MaxConnectionsPerIP counts per client address, IPv6 per /64; more
	// get the protocol's "too many connections" reply.
	MaxConnectionsPerIP int `toml:"max_connections_per_ip"`
	// MaxConnections counts all of the service's clients together.
	MaxConnections int `toml:"max_connections"`
}

// ConnectionServices are the services with their own [limits.X] table.
var ConnectionServices = []string{"mx", "submission", "pop3", "imap", "managesieve"}

// ConnectionLimits returns service's caps: its table's values over the
// [limits] ones.
func (l Limits) ConnectionLimits(service string) Connections {
	c := l.Connections
	o := l.override(service)
	if o.MaxConnectionsPerIP > 0 {
		c.MaxConnectionsPerIP = o.MaxConnectionsPerIP
	}
	if o.MaxConnections > 0 {
		c.MaxConnections = o.MaxConnections
	}
	return c
}

func (l Limits) override(service string) Connections {
	switch service {
	case "mx":
		return l.MX
	case "submission":
		return l.Submission
	case "pop3":
		return l.POP3
	case "imap":
		return l.IMAP
	case "managesieve":
		return l.ManageSieve
	}
	panic("config: no connection limits for service " + service)
}

// Log sets the log level: debug, info, warn or error.
type Log struct {
	Level string `toml:"level"`
}

// Default is the zero-config setup: loopback only, standard ports + 2000.
func Default() *Config {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return &Config{
		Hostname: host,
		DataDir:  "./mailgate-data",
		TLS:      TLS{TicketKeyRotation: OffDuration(12 * time.Hour)},
		Listen: Listen{
			MX:          "127.0.0.1:2525",
			Submission:  "127.0.0.1:2587",
			Submissions: "127.0.0.1:2465",
			POP3:        "127.0.0.1:2110",
			POP3S:       "127.0.0.1:2995",
			IMAP:        "127.0.0.1:2143",
			IMAPS:       "127.0.0.1:2993",
			ManageSieve: "127.0.0.1:6190",
			HTTP:        "127.0.0.1:8025",
			HTTPS:       "127.0.0.1:8443",
		},
		Limits: Limits{
			MaxMessageBytes:  25 << 20,
			MaxRecipients:    100,
			MaxLineLength:    4096,
			CommandTimeout:   5 * time.Minute,
			DataTimeout:      10 * time.Minute,
			MaxAuthFailures:  5,
			MaxErrors:        20,
			RecipientsPerDay: 1000,
			MessagesPerDay:   500,
			OverLimit:        "reject",
			// Postfix's smtpd allows 50 per client, and its smtp client
			// opens up to 20 to one destination: 50 lets the largest
			// ordinary sender in. 10000 per service (5 services, two
			// ports for three of them) stays far below the open-file
			// limit serve raises to (typically 524288 or more) and a
			// few hundred MiB of idle sessions.
			Connections:  Connections{MaxConnectionsPerIP: 50, MaxConnections: 10000},
			LoginTimeout: time.Minute,
			// Postfix's client reuses a connection for 300 s at most; a
			// message needs at most data_timeout (10m).
			SessionTimeout: time.Hour,
		},
		Log:   Log{Level: "info"},
		Abuse: defaultAbuse(),
		Delivery: Delivery{
			Workers: 16, RetryInitial: 5 * time.Minute, RetryMax: 4 * time.Hour,
			Lifetime: 5 * 24 * time.Hour, DelayWarning: 4 * time.Hour, ScanInterval: 30 * time.Second,
			ConcurrencyPerDestination: 10, ConnectTimeout: 30 * time.Second,
			MTASTS: true, DANE: true, RemotePort: 25, MTASTSPort: 443,
			LocalBeforeAck: true,
		},
		DNS:     DNS{Timeout: 5 * time.Second},
		Edge:    defaultEdge(),
		Scan:    defaultScan(),
		Sieve:   defaultSieve(),
		SRS:     defaultSRS(),
		ARC:     defaultARC(),
		Mailbox: defaultMailbox(),

		Reputation: defaultReputation(),
		Auth:       defaultAuth(), Publish: defaultPublish(), Web: defaultWeb(),
		DMARCReports: defaultDMARCReports(),
		Fleet:        defaultFleet(),
	}
}

// Load reads path over the defaults. Unknown keys and invalid values are
// errors naming the key, so a typo never silently falls back to a default.
func Load(path string) (*Config, error) {
	c := Default()
	md, err := toml.DecodeFile(path, c)
	if err != nil {
		if strings.Contains(err.Error(), "invalid duration") {
			// The TOML library's words for "5" or "5 min": say what it takes.
			return nil, fmt.Errorf("config %s: %w; write a duration as a number with a unit: \"30s\", \"5m\", \"1h30m\"", path, err)
		}
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("config %s: unknown key(s) %s: remove them or fix the spelling (see `mailgate config example`)", path, strings.Join(keys, ", "))
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Validate checks every value and names the offending key.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, a...)))
	}
	// RFC 1035 §2.3.4: a name is at most 255 octets on the wire, 253 as
	// text; the hostname is our HELO, authserv-id and Message-ID domain.
	if c.Hostname == "" || len(c.Hostname) > 253 || strings.ContainsAny(c.Hostname, " \t/@") {
		bad("hostname", "%q is not a host name", c.Hostname)
	}
	if c.DataDir == "" {
		bad("data_dir", "must not be empty")
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls", "set both cert_file and key_file, or neither for a self-signed certificate")
	}
	if r := time.Duration(c.TLS.TicketKeyRotation); r != 0 && (r < time.Minute || r > 7*24*time.Hour) {
		// Go's tickets live 7 days at most (RFC 8446 §4.6.1): a slower
		// rotation would only keep keys no ticket needs.
		bad("tls.ticket_key_rotation", "%v is outside 1m..168h (\"off\" turns session resumption off)", r)
	}
	for key, addr := range c.Listen.byKey() {
		if addr == "" {
			continue
		}
		if err := checkHostPort(addr); err != nil {
			bad("listen."+key, "%q is not host:port: %v", addr, err)
		}
	}
	if c.Limits.MaxMessageBytes < 1024 {
		bad("limits.max_message_bytes", "%d is below 1024", c.Limits.MaxMessageBytes)
	}
	if c.Limits.MaxRecipients < 1 {
		bad("limits.max_recipients", "%d must be at least 1", c.Limits.MaxRecipients)
	}
	// RFC 5321 §4.5.3.1.4/6: a command line is at least 512 octets, a text line 1000.
	if c.Limits.MaxLineLength < 1000 {
		bad("limits.max_line_length", "%d is below RFC 5321's 1000-octet text line", c.Limits.MaxLineLength)
	}
	if c.Limits.CommandTimeout < time.Second {
		bad("limits.command_timeout", "%v is below 1s", c.Limits.CommandTimeout)
	}
	if c.Limits.DataTimeout < time.Second {
		bad("limits.data_timeout", "%v is below 1s", c.Limits.DataTimeout)
	}
	if c.Limits.MaxAuthFailures < 3 {
		bad("limits.max_auth_failures", "%d is below 3 (RFC 4954 §9)", c.Limits.MaxAuthFailures)
	}
	if c.Limits.MaxErrors < 1 {
		bad("limits.max_errors", "%d must be at least 1", c.Limits.MaxErrors)
	}
	c.validateConnections(bad)
	if c.Limits.GreetPause < 0 || c.Limits.GreetPause > 30*time.Second {
		bad("limits.greet_pause", "%v is outside 0s..30s", c.Limits.GreetPause)
	}
	if c.Limits.RecipientsPerDay < 0 {
		bad("limits.recipients_per_day", "%d must be 0 (no limit) or more", c.Limits.RecipientsPerDay)
	}
	if c.Limits.MessagesPerDay < 0 {
		bad("limits.messages_per_day", "%d must be 0 (no limit) or more", c.Limits.MessagesPerDay)
	}
	if c.Limits.OverLimit != "reject" && c.Limits.OverLimit != "defer" {
		bad("limits.over_limit", "%q is neither \"reject\" nor \"defer\"", c.Limits.OverLimit)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	c.validateDelivery(bad)
	c.validateEdge(bad)
	c.validateRadius(bad)
	c.validateAbuse(bad)
	c.validateScan(bad)
	c.validateSieve(bad)
	c.validateSRS(bad)
	c.validateARC(bad)
	c.validateMailbox(bad)
	c.validateReputation(bad)
	c.validateAuth(bad)
	c.validateDMARCReports(bad)
	c.validateWeb(bad)
	c.validateFleet(bad)
	return errors.Join(errs...)
}

func (c *Config) validateConnections(bad badFunc) {
	l := c.Limits
	if l.MaxConnectionsPerIP < 1 {
		bad("limits.max_connections_per_ip", "%d must be at least 1", l.MaxConnectionsPerIP)
	}
	if l.MaxConnections < 1 {
		bad("limits.max_connections", "%d must be at least 1", l.MaxConnections)
	}
	for _, svc := range ConnectionServices {
		o := l.override(svc)
		if o.MaxConnectionsPerIP < 0 {
			bad("limits."+svc+".max_connections_per_ip", "%d must be 0 (use limits.max_connections_per_ip) or more", o.MaxConnectionsPerIP)
		}
		if o.MaxConnections < 0 {
			bad("limits."+svc+".max_connections", "%d must be 0 (use limits.max_connections) or more", o.MaxConnections)
		}
		if eff := l.ConnectionLimits(svc); eff.MaxConnectionsPerIP > eff.MaxConnections {
			bad("limits."+svc+".max_connections_per_ip", "%d is above the service's max_connections %d", eff.MaxConnectionsPerIP, eff.MaxConnections)
		}
	}
	if l.LoginTimeout < time.Second {
		bad("limits.login_timeout", "%v is below 1s", l.LoginTimeout)
	}
	// A session must have room for one message's whole DATA phase.
	if l.SessionTimeout <= l.DataTimeout {
		bad("limits.session_timeout", "%v must be above data_timeout %v", l.SessionTimeout, l.DataTimeout)
	}
}

// badFunc records a problem with the value of key (see Validate).
type badFunc func(key, format string, a ...any)

func (c *Config) validateDelivery(bad badFunc) {
	d := c.Delivery
	if d.Workers < 1 {
		bad("delivery.workers", "%d must be at least 1", d.Workers)
	}
	if d.RetryInitial < 100*time.Millisecond || d.RetryMax < d.RetryInitial {
		bad("delivery.retry_initial", "%v/%v: need 100ms <= retry_initial <= retry_max", d.RetryInitial, d.RetryMax)
	}
	if d.Lifetime < time.Second {
		bad("delivery.lifetime", "%v is below 1s", d.Lifetime)
	}
	if d.DelayWarning < 0 || d.DelayWarning >= d.Lifetime && d.DelayWarning != 0 {
		bad("delivery.delay_warning", "%v must be 0 (off) or below lifetime %v", d.DelayWarning, d.Lifetime)
	}
	if d.ScanInterval < 100*time.Millisecond {
		bad("delivery.scan_interval", "%v is below 100ms", d.ScanInterval)
	}
	if d.ConcurrencyPerDestination < 1 {
		bad("delivery.concurrency_per_destination", "%d must be at least 1", d.ConcurrencyPerDestination)
	}
	if d.ConnectTimeout < 100*time.Millisecond {
		bad("delivery.connect_timeout", "%v is below 100ms", d.ConnectTimeout)
	}
	if d.Smarthost != "" {
		if err := checkHostPort(d.Smarthost); err != nil {
			bad("delivery.smarthost", "%q is not host:port: %v", d.Smarthost, err)
		}
	}
	if (d.SmarthostUsername == "") != (d.SmarthostPasswordFile == "") {
		bad("delivery.smarthost_username", "set both smarthost_username and smarthost_password_file, or neither")
	}
	if d.RemotePort < 1 || d.RemotePort > 65535 {
		bad("delivery.remote_port", "%d is not a port", d.RemotePort)
	}
	if d.MTASTSPort < 1 || d.MTASTSPort > 65535 {
		bad("delivery.mta_sts_port", "%d is not a port", d.MTASTSPort)
	}
	for _, s := range c.DNS.Servers {
		if err := checkHostPort(s); err != nil {
			bad("dns.servers", "%q is not host:port: %v", s, err)
		}
	}
	if c.DNS.Timeout < 100*time.Millisecond {
		bad("dns.timeout", "%v is below 100ms", c.DNS.Timeout)
	}
}

// checkHostPort says what is wrong with a "host:port" setting: a listen or
// dial address whose port is no port (99999, "") would only fail later, at
// start or at the first connection.
func checkHostPort(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if port == "" {
		return fmt.Errorf("no port after the colon")
	}
	if _, err := net.LookupPort("tcp", port); err != nil {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

func (l Listen) byKey() map[string]string {
	return map[string]string{
		"mx": l.MX, "submission": l.Submission, "submissions": l.Submissions,
		"pop3": l.POP3, "pop3s": l.POP3S, "imap": l.IMAP, "imaps": l.IMAPS, "managesieve": l.ManageSieve, "http": l.HTTP, "https": l.HTTPS,
		"radius_accounting": l.RadiusAccounting,
	}
}

// DatabaseDSN is the database setting with the SQLite default filled in.
func (c *Config) DatabaseDSN() string {
	if c.Database != "" {
		return c.Database
	}
	return filepath.Join(c.DataDir, "mailgate.db")
}
