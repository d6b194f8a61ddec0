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
managesieve = "0.0.0.0:4190"   # ManageSieve (RFC 5804): Sieve filter scripts, STARTTLS then AUTH
http = "127.0.0.1:8025"        # reserved for the admin API, self-check, autoconfig and metrics (not served yet)

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
# Refused commands before a session is closed with 421 (Postfix's
# smtpd_hard_error_limit).
max_errors = 20
# Concurrent MX (port 25) sessions from one client address; more get 421.
max_connections_per_ip = 20
# MX only: wait this long before the 220 greeting and refuse clients that
# talk first (postscreen's pregreet test; 1s-6s catches most bots, at the
# cost of that delay per connection). "0s" still refuses input that is
# already waiting when the greeting is due.
greet_pause = "0s"

[log]
# debug, info, warn or error. Passwords are never logged.
level = "info"

[delivery]
# Deliveries running at once on this node (local and remote).
workers = 16
# Retry schedule after a temporary failure: retry_initial, then doubling
# (5m, 10m, 20m, 40m ...) up to retry_max between attempts.
retry_initial = "5m"
retry_max = "4h"
# A message still undelivered after lifetime bounces to its sender (RFC 5321
# §4.5.4.1 suggests 4-5 days); after delay_warning the sender gets one
# "delayed" notice ("0s" disables it).
lifetime = "120h"
delay_warning = "4h"
# How often the whole queue is checked for due messages (new mail and timed
# retries start at once anyway; this catches "mailgate queue retry").
scan_interval = "30s"
# Parallel connections per destination domain (or to the smarthost).
concurrency_per_destination = 10
# Time allowed for each TCP connect to a remote MX.
connect_timeout = "30s"
# Relay every remote message through this host:port instead of the MX hosts
# ("" = deliver directly). Port 465 means implicit TLS, otherwise STARTTLS
# is used when offered; AUTH is only sent over TLS. The password is read
# from smarthost_password_file (mode 0600), never from this file or argv.
smarthost = ""
smarthost_username = ""
smarthost_password_file = ""
# Domains whose mail must be sent over STARTTLS (otherwise it waits in the
# queue); every other domain gets opportunistic STARTTLS.
tls_required = []
# Fetch and enforce MTA-STS policies (RFC 8461) of recipient domains.
mta_sts = true
# DANE (RFC 7672): an MX host whose address and TLSA records
# (_25._tcp.<host>) are DNSSEC-validated gets mail only over STARTTLS with
# a certificate those records name; it comes before MTA-STS. Validation is
# the resolver's: takes effect only with [dns] servers naming a validating
# resolver you trust (its AD bit), e.g. unbound on localhost.
dane = true
# Extra trusted CA certificates (PEM) for verified TLS (MTA-STS, smarthost),
# besides the system roots. "" = system roots only.
ca_file = ""
# Port of remote MX hosts and of MTA-STS policy servers. Only tests change
# these.
remote_port = 25
mta_sts_port = 443

[dns]
# DNS servers (host:port) for MX, A/AAAA, TXT, TLSA lookups of outbound
# delivery. Empty: the system resolver (/etc/resolv.conf), which cannot
# report DNSSEC validation, so DANE is off.
servers = []
# Time allowed for one DNS query.
timeout = "5s"

[edge]
# OP25B edge role (mailgate edge run / apply / dnsbl on the router). The
# policy itself (pools, relays, exemptions, carriers, scope, action) is in
# the store, managed with mailgate pool ... and mailgate edge ....
# How often edge run checks the store and the schedule and re-applies.
poll_interval = "5s"
# How often carrier domains' MX hosts are resolved again.
resolve_interval = "1h"
# How long the kernel remembers a blocked source's attempts (edge report).
attempt_window = "168h"
# Where edge dnsbl answers (UDP+TCP) for its zone: 127.0.0.10 for our
# dynamic addresses (RFC 5782). "" zone: give --zone on the command line.
dnsbl_listen = "127.0.0.1:5353"
dnsbl_zone = ""
`
