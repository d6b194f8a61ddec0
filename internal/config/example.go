package config

// Example is what `mailgate config example` prints: every setting, with its
// default and what it is for. config_test.go loads it, so it stays valid.
const Example = exampleMain + exampleFleet

const exampleMain = `# mailgate.toml — every setting, with its default.
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
http = "127.0.0.1:8025"        # reserved for the admin API, self-check, autoconfig and metrics (not served yet)
# RADIUS accounting (UDP, RFC 2866) from the BNG: which subscriber held which
# address when (edge report, subscriber who). "" (default) serves none;
# needs radius.secret_file.
radius_accounting = ""

[limits]
# Largest message accepted, in bytes; advertised as SIZE (RFC 1870).
max_message_bytes = 26214400
# Recipients per message; more get 452 4.5.3 (RFC 5321 §4.5.3.1.10),
# each counted toward max_errors.
max_recipients = 100
# Longest command or text line, in bytes (RFC 5321 minimum: 1000).
max_line_length = 4096
# Idle time allowed between commands, and for the whole DATA phase.
command_timeout = "5m"
data_timeout = "10m"
# Failed AUTH attempts before the session is closed (RFC 4954 §9: >= 3).
max_auth_failures = 5
# Refused commands (MAIL, RCPT, over max_recipients included) before a
# session is closed with 421 4.7.0 (Postfix's smtpd_hard_error_limit).
max_errors = 20
# MX only: wait this long before the 220 greeting and refuse clients that
# talk first (postscreen's pregreet test; 1s-6s catches most bots, at the
# cost of that delay per connection). "0s" still refuses input that is
# already waiting when the greeting is due.
greet_pause = "0s"
# What one account may send over a rolling 24 hours, counted in recipients
# and in messages, shared by every node of a fleet; 0 means no limit.
# Local deliveries and our own DSNs do not count. Per account:
# mailgate user limits ADDRESS --recipients-per-day N --messages-per-day N
recipients_per_day = 1000
messages_per_day = 500
# Past a limit: "reject" answers 550 5.7.1 (the mail client shows it at
# once), "defer" answers 451 4.7.1 (the client retries later).
over_limit = "reject"
# Concurrent connections to each service (MX, submission, POP3, IMAP) from
# one client address; an IPv6 client counts per /64. More are refused with
# the protocol's reply (SMTP "421 4.7.0", IMAP "* BYE [UNAVAILABLE]", POP3
# "-ERR [SYS/TEMP]"). Postfix's smtpd allows 50 per client and its client
# opens up to 20 to one destination. Subscribers behind carrier-grade NAT
# share one address: raise it for IMAP if they do.
max_connections_per_ip = 50
# Concurrent connections to each service from everyone together; more get
# "421 4.3.2" / BYE / -ERR. Keep the services' total below the open-file
# limit (serve prints it at start and raises the soft limit to the hard one).
max_connections = 10000
# IMAP, POP3 and submission connections that have not logged in this long
# after connecting are closed (IMAP "* BYE", POP3 "-ERR", SMTP "421 4.4.2"),
# a TLS handshake included. Mail clients log in within a few round trips;
# raise it only for people typing commands by hand.
login_timeout = "1m"
# MX only: the longest an MX session may last, however busy; then it gets
# "421 4.4.2" and the client reconnects. Must be above data_timeout.
session_timeout = "1h"

# Per-service connection caps over the two above (0 or absent: those).
# submission covers 587 and 465, pop3 110 and 995, imap 143 and 993: a
# client's connections to either port count together.
[limits.mx]
max_connections_per_ip = 0
max_connections = 0
[limits.submission]
max_connections_per_ip = 0
max_connections = 0
[limits.pop3]
max_connections_per_ip = 0
max_connections = 0
[limits.imap]
max_connections_per_ip = 0
max_connections = 0

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

[radius]
# The file whose first line is the RADIUS shared secret with the BNG.
secret_file = ""

[abuse]
# mailgate abuse notices: subscribers whose lines hit the port-25 block at
# least notice_threshold times (edge report --store, attributed through
# RADIUS accounting) get a notice in their linked mailbox; reminders follow
# while the attempts go on, at most one per notice_reminder_after.
notice_threshold = 100
notice_reminder_after = "168h"
# Sender of the notices; "" is postmaster@<hostname>.
notice_from = ""
# A Go text/template for the body (fields .Subscriber .Account .Attempts
# .FirstSeen .LastSeen .Sources .Grade); "" uses the built-in Japanese and
# English text.
notice_text_file = ""

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

[scan]
# Content scanners running beside the node as their own daemons (Debian's
# clamav-daemon and rspamd; see README "Virus and spam checks"). Each is a
# host:port or an absolute unix socket path; "" turns that check off. With
# neither set nothing is scanned.
clamd = ""                     # e.g. "/run/clamav/clamd.ctl" or "127.0.0.1:3310"
rspamd = ""                    # e.g. "127.0.0.1:11333" (the normal worker)
# rspamd's controller worker: when set, a message a subscriber moves into
# Junk over IMAP is learned as spam, one moved out of Junk (not to Trash) as
# ham, in the background. rspamd learns only with Redis. The password file
# holds the controller's enable password ("" = none: loopback is in
# Debian's secure_ip).
rspamd_controller = ""         # e.g. "127.0.0.1:11334"
rspamd_password_file = ""
# Time allowed for one scan: connect, send the message, get the answer.
timeout = "30s"
# Messages larger than this are not sent to the scanners (0 = limits.
# max_message_bytes, so everything accepted is scanned). Keep clamd's
# StreamMaxLength and rspamd's max_message at least this large.
max_bytes = 0

[scan.virus]
# clamd down or erring: "tempfail" answers 451 4.7.0 so the sender retries
# and no message is ever delivered unscanned (Postfix's default
# milter_default_action); "accept" delivers it with "X-Virus-Scan:
# unchecked". A virus found is always 554 5.7.0 at the end of DATA.
on_error = "tempfail"
# Messages over the scan limit: "reject" (552 5.3.4) or "accept" (delivered
# with "X-Virus-Scan: unchecked, over the scan limit").
oversize = "reject"

[scan.spam]
# rspamd down or erring: "accept" delivers with "X-Spam-Flag: UNCHECKED"
# (a missed spam check loses nothing); "tempfail" answers 451 4.7.1.
on_error = "accept"
# Answer rspamd's "reject" action with 550 5.7.1. Off, such mail is spam
# like any other and goes where its recipient chose.
reject = false
# Answer rspamd's "greylist" action with 451 4.7.1. rspamd's greylisting
# needs Redis: without it rspamd still says "greylist" from its greylist
# score on, every time, so turn this off on an rspamd without Redis.
greylist = true
# For subscribers who made no choice (mailgate user spam): "header" (our
# X-Spam-* fields only), "tag" (and the tag before the subject) or "junk"
# (and delivery into the Junk folder). "tag" marks spam visibly in every
# mail program, POP3 ones included, which never see a Junk folder.
action = "tag"
tag = "[SPAM]"
# Score from which a message is spam; 0 = rspamd's actions decide ("add
# header", "rewrite subject", "reject").
threshold = 0.0
[reputation]
# How the MX judges where mail comes from, before it is received. Refusals
# come at MAIL FROM (as Postfix's smtpd_delay_reject), from checks that run
# while the client says EHLO. Every message gets X-Mailgate-Reputation:
# score=N and the reasons; mailgate reputation check IP shows the verdicts.
#
# Clients in dynamic (end-user) address space talking straight to our MX
# (IP25B, the receiving side of OP25B): other ISPs' feeds imported with
# mailgate reputation import, DNS-list answers with a dynamic code, and
# (own_pools) our own dynamic pools. "reject": 550 5.7.1 telling the sender
# to use their provider's submission service (port 587 with
# authentication); "score": adds 3 to the client's score; "off".
dynamic = "reject"
# Our own dynamic pools (mailgate pool ...) count as dynamic space for
# unauthenticated mail on port 25.
own_pools = true
# Reverse DNS of the client. "score" adds 2 for no PTR record, 1.5 for a PTR
# name that does not resolve back to the address, 1 for a generic name (the
# address embedded in it, or dyn, pool, ppp, dsl, cust, dhcp, client ...
# beside a number) and never refuses; "reject-missing" refuses clients
# without a PTR (550 5.7.25); "reject-unconfirmed" also those whose PTR
# does not resolve back; "off". A DNS failure never refuses.
rdns = "score"
# How long the DNS-list lookups of one client may take (they run in
# parallel); a list that has not answered by then does not block.
dnsbl_timeout = "2s"

# DNS block lists (RFC 5782), any number of [[reputation.dnsbl]] tables:
# [[reputation.dnsbl]]
# zone = "zen.spamhaus.org"
# # The lookup page refusals name; {ip} becomes the client's address.
# url = "https://check.spamhaus.org/listed/?searchterm={ip}"
# # "reject": 554 5.7.1 naming the list and url; "score": add score.
# action = "reject"
# score = 0
# # Answers that mean listed (addresses or prefixes in 127.0.0.0/8). Empty:
# # every answer except error codes (127.255.255.x, 127.0.0.0, 127.0.0.1,
# # anything outside 127/8), which never count, and the dynamic codes.
# codes = ["127.0.0.2", "127.0.0.3", "127.0.0.4/30", "127.0.0.9"]
# # Answers that mean dynamic address space (PBL style): handled as
# # "dynamic" above. Default: 127.0.0.10 and 127.0.0.11.
# dynamic_codes = ["127.0.0.10", "127.0.0.11"]
# # DNS servers (host:port) for this list instead of [dns] servers, e.g. a
# # local rbldnsd mirror. Empty: the node's resolver.
# servers = []

[auth]
# Sender authentication on the MX, before the 250: SPF (RFC 7208) for MAIL
# FROM (the HELO name when MAIL FROM is <>), every DKIM signature (RFC 6376,
# Ed25519 RFC 8463), DMARC (RFC 7489). Results go into an
# Authentication-Results field (RFC 8601) and Received-SPF; incoming
# Authentication-Results claiming our authserv_id are removed first.
enabled = true
# Our ADMD's name in Authentication-Results. Every node of a fleet should
# use the same one. "" = hostname.
authserv_id = ""
# A DNS failure that leaves the verdict open (SPF temperror, DMARC record
# unavailable): "accept" delivers and records temperror; "defer" answers
# 451 4.7.24 (SPF) or 451 4.7.5 (DMARC) so the sender tries again.
temperror = "accept"
# Mail failing DMARC whose domain publishes p=reject: "reject" refuses it
# with 550 5.7.1; "quarantine" accepts it into the recipient's Junk folder.
# p=quarantine always means Junk; p=none is only recorded.
dmarc_reject = "reject"
# Refuse SPF "fail" with 550 5.7.23 unless DMARC passes. Off: recorded, and
# left to DMARC (RFC 7489 §10.1 advises against rejecting before DMARC).
spf_fail_reject = false
# Time allowed for all DNS lookups of one message (RFC 7208 §4.6.4: at
# least 20s for SPF).
timeout = "20s"

[publish]
# What "mailgate dns records DOMAIN" prints for our domains, and what
# "mailgate dns check DOMAIN" expects to find in the DNS.
# Addresses (or prefixes) our nodes send mail from: the SPF record lists
# them as ip4:/ip6: and ends in -all.
outbound_ips = ["192.0.2.25", "2001:db8::25"]
# Our MX hosts in preference order (10, 20, ...). Empty: hostname alone.
mx_hosts = []
# The DMARC policy we publish: none, quarantine or reject.
dmarc_policy = "quarantine"
# Where DMARC aggregate (rua) and TLS-RPT reports go. "" = postmaster@ the
# domain.
report_mailbox = ""
# The MTA-STS mode we publish (RFC 8461): testing, then enforce once the
# reports are clean.
mta_sts_mode = "testing"
`
