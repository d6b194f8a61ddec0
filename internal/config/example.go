package config

// Example is what `mailgate config example` prints: every setting, with its
// default and what it is for. config_test.go loads it, so it stays valid.
const Example = `# mailgate.toml — every setting, with its default.
# Run with: mailgate serve -c mailgate.toml
# Unknown keys and invalid values stop mailgate at start, naming the key.

# This node's name: the SMTP greeting, Received headers, and the SAN of the
# self-signed certificate. Default: the machine's host name.
hostname = "mail.isp.example"

# Spool, mailboxes (Maildir++ under mail/<domain>/<user>/), the SQLite
# database and the generated certificate live here.
data_dir = "/var/lib/mailgate"

# Directory store: a SQLite file path, or a postgres:// URL for a fleet of
# nodes sharing one PostgreSQL. Empty: <data_dir>/mailgate.db.
# database = "postgres://mailgate@db.isp.example/mailgate?sslmode=verify-full"
database = ""

[tls]
# PEM certificate chain and key. Leave both empty to have mailgate generate a
# self-signed ECDSA certificate under data_dir on first start (tests, trials).
cert_file = "/etc/mailgate/tls/fullchain.pem"
key_file = "/etc/mailgate/tls/privkey.pem"

[listen]
# One address per service; "" disables the service. Without a config file
# mailgate listens on loopback at the standard port + 2000.
mx = "0.0.0.0:25"              # inbound MX (STARTTLS offered, never required)
submission = "0.0.0.0:587"     # RFC 6409 submission, STARTTLS then AUTH
submissions = "0.0.0.0:465"    # RFC 8314 implicit TLS, then AUTH
pop3 = "0.0.0.0:110"           # POP3 with STLS
pop3s = "0.0.0.0:995"          # POP3 over implicit TLS
imap = "0.0.0.0:143"           # IMAP with STARTTLS
imaps = "0.0.0.0:993"          # IMAP over implicit TLS
http = "127.0.0.1:8025"        # admin API, self-check, autoconfig, metrics

[limits]
# Largest message accepted, in bytes; advertised as SIZE (RFC 1870).
max_message_bytes = 26214400
# Recipients per message; more get 452 4.5.3 (RFC 5321 §4.5.3.1.8).
max_recipients = 100
# Longest command or text line, in bytes (RFC 5321 minimum: 1000).
max_line_length = 4096
# Idle time allowed between commands, and for the whole DATA phase.
command_timeout = "5m"
data_timeout = "10m"
# Failed AUTH attempts before the session is closed (RFC 4954 §9: >= 3).
max_auth_failures = 5

[log]
# debug, info, warn or error. Passwords are never logged.
level = "info"
`
