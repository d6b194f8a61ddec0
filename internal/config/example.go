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
# TLS session resumption (RFC 8446 §2.2): clients that reconnect skip the
# certificate and its signature. The ticket keys are kept in the database,
# shared by every node of a fleet and used by the fleet's internal channel
# too; whichever node finds the current key this old makes the next, and
# the two before it still decrypt tickets.
# "off" (or "0s") turns session tickets off: every handshake is a full one.
ticket_key_rotation = "12h"

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
# The web server (internal/web): OP25B self-check, setup guides, autoconfig,
# MTA-STS policy, carrier feed, metrics. Plain HTTP serves only public pages;
# login pages redirect to https (no password crosses without TLS).
http = "0.0.0.0:80"
https = "0.0.0.0:443"          # the node's certificate ([tls])
# RADIUS accounting (UDP, RFC 2866) from the BNG: which subscriber held which
# address when (edge report, subscriber who). "" (default) serves none;
# needs radius.secret_file.
radius_accounting = ""

[limits]
# Largest message accepted, in bytes; advertised as SIZE (RFC 1870). The
# webmail's compose form (attachments included) is held to it too.
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
# Refused SMTP commands before the connection is closed with 421 4.7.0
# (Postfix's smtpd_hard_error_limit): every 4xx/5xx refusal counts, MAIL and
# RCPT (over max_recipients included), bad syntax, unknown commands, RCPT
# before MAIL, before HELO and across STARTTLS.
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
[limits.managesieve]
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
# Deliver mail for mailboxes on this node before the 250 of the MX and of
# submission (webmail included), as an LMTP
# server does: the message is written once, linked into each local
# recipient's Maildir and fsynced, and each recipient's Sieve script runs
# before the reply (so a script's ereject is the SMTP refusal when the
# message has one recipient). Only what cannot be delivered at once (remote
# recipients, mailboxes homed on another node, a temporary failure, Sieve
# redirects) goes through the queue. false: every message is queued first
# and delivered after the 250 (the earlier path; it stays for one release).
local_before_ack = true

[dns]
# DNS servers (host:port) for MX, A/AAAA, TXT, TLSA lookups of outbound
# delivery, the inbound checks and the edge's carrier domains. Empty: the system resolver (/etc/resolv.conf), which cannot
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
# Our own subscribers on the MX's port 25 (their lines may reach only our
# relays there): "auth" offers AUTH after STARTTLS to clients inside our
# subscriber pools (mailgate pool ...) and then applies the submission
# rules (sender ownership, send limits, scanning); clients outside the
# pools see no AUTH. "ip" also relays unauthenticated mail from our pools
# for old equipment: the sender restricted to our domains, each address
# held to the daily send limits of [limits] as an account is, the
# subscriber who held it named in the log from RADIUS accounting. "off":
# the MX is an MX only.
own_network_relay = "auth"
# How often the MX rereads the pools from the store.
pool_refresh = "1m"

[abuse.login]
# Login throttling for SMTP AUTH, IMAP and POP3 (and the portal): failures
# are counted per client address (IPv4, IPv6 /64), per network (/24, /48)
# and per address and account, in the store, shared by the fleet. A
# failure counts while each comes less than window after the one before.
window = "15m"
# Wait before checking a login after one failure, doubled per further
# failure up to max_delay (Dovecot's auth_penalty: 2s to 15s).
delay = "2s"
max_delay = "15s"
# Block for block_time (SMTP 454 4.7.0, IMAP NO [UNAVAILABLE], POP3 -ERR
# [SYS/TEMP]) after this many failures from one address, from one address
# against one account (that account still logs in from elsewhere), or from
# one network (keep it high: CGNAT). 0 never blocks at that level. See and
# lift blocks with mailgate abuse blocks list|remove ADDR.
block_after = 10
block_after_account = 5
block_after_network = 50
block_time = "15m"

[abuse.compromise]
# Signs that an account's password or PC is in a spammer's hands. On one,
# "enforce" suspends its sending (lifted by a password change), holds its
# queued outgoing mail (the operator releases or removes it: mailgate queue
# release|remove), and notifies the subscriber and the operator; "report"
# only logs and audits what it would have done; "off".
mode = "enforce"
# Recipients in the last 24 hours above baseline_factor times the daily
# average of the baseline_days before, and at least baseline_min.
baseline_factor = 10.0
baseline_days = 7
baseline_min = 200
# Share of the remote recipients of the last 24 hours refused permanently
# by the receiving servers, once at least refused_min were refused.
refused_share = 0.5
refused_min = 20
# A virus found in the account's outgoing mail.
virus = true
# An outgoing message scoring at least spam_score with rspamd ([scan]); 0 is
# off. 15 (rspamd's reject) is a fair start once report mode shows few hits.
spam_score = 0.0
# Successful logins from this many networks (/24, /48) within login_window.
login_sources = 10
login_window = "1h"
# The operator's copy of each notice; "" is postmaster@<hostname>.
operator = ""

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
# The widest exemption edge exempt add takes without --force, as a prefix
# length: a /24 is the most one fixed-IP customer gets, a /48 one IPv6
# site. Wider ones (0.0.0.0/0 turns OP25B off for everyone) need --force.
max_exempt_prefix_v4 = 24
max_exempt_prefix_v6 = 48

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
[sieve]
# Subscribers' filter scripts (ManageSieve, "mailgate sieve", the filter
# service). The quotas an account's scripts are held to, announced by
# ManageSieve (RFC 5804 QUOTA/MAXSIZE, QUOTA/MAXSCRIPTS): the largest
# script in bytes (at most 1048576, what the compiler reads) and how many
# scripts an account may keep.
max_script_bytes = 65536
max_scripts = 16
# How many redirects one run of a script may make (RFC 5228 §10); more is
# a script failure, which keeps the message. Each redirect also counts
# against the account's [limits] daily send limits.
max_redirects = 4

[srs]
# The Sender Rewriting Scheme (libsrs2/PostSRSd addresses) for mail this
# node forwards: a Sieve redirect to another site goes out with the sender
# SRS0=HASH=TT=orig-domain=orig-local@<domain>, so the receiving site's
# SPF check is of our domain (RFC 7208 Appendix D), not the sender's, which
# would fail. The null sender and senders in our own domains are kept. The
# MX takes bounces (MAIL FROM:<>) to a valid address of <domain> and sends
# them on to the original sender; a forged or expired one gets 550 5.1.1,
# and one with any other sender 550 5.7.1 (no relay through SRS).
enabled = true
# The rewritten senders' domain: it needs an MX (or an A/AAAA record)
# reaching this node and an SPF record allowing our outgoing addresses.
# Empty: the hostname (per node, as the generated secret is); a hostname
# that is not a fully qualified domain turns SRS off, with a warning.
domain = ""
# The secrets, one per line, the first signing, the others still accepted
# (rotate by adding a new first line; drop the old after max_age days).
# Empty: <data_dir>/srs.secret, created with a random secret (mode 0600)
# on first start. PostSRSd's file works as is.
secret_file = ""
# Days a rewritten sender accepts bounces (PostSRSd: 21; at most 1023).
max_age = 21
# Bounces (MAIL FROM:<>) the MX takes to SRS addresses, per domain they
# go on to (the original senders' organizational domain: subdomains
# share one budget) and per client (an IPv4 address, an
# IPv6 /64), counted over the fleet in fixed windows: "N/second",
# "N/minute", "N/hour" or "off". Past either, RCPT gets 450 4.7.1 and the
# sender retries later. 100 an hour is far above what real bounces of
# forwarded mail come to, and holds a flood of backscatter (or a replayed
# address) at one domain to 2,400 a day instead of the MX's full rate.
bounce_rate = "100/hour"
bounce_rate_per_ip = "100/hour"

[arc]
# What a forwarded copy carries besides its SRS sender. The receiving site
# checks the original sender's SPF, DKIM and DMARC, which forwarding can
# break; large receivers (Gmail, Microsoft) then look at the ARC chain
# (RFC 8617) to see who forwarded the message and what it found on arrival.
# An ARC set on every forwarded copy: ARC-Authentication-Results (our MX's
# Authentication-Results for the message), ARC-Message-Signature, ARC-Seal
# (cv=none for the first set, else pass or fail from checking the sets the
# message came with; after cv=fail, or 50 sets, none is added).
seal = true
# A DKIM-Signature of the signing domain on every forwarded copy too.
dkim_sign = true
# The signing domain (d=), with an active DKIM key ("mailgate dkim keygen").
# Empty: the domain of the account whose Sieve script forwarded the
# message, one of ours with its key published already. A copy whose
# signing domain has no key goes out unsigned and unsealed (logged).
domain = ""

[mailbox]
# The storage quota of an account without its own ("mailgate user quota
# ADDRESS SIZE"): what its Maildir may hold, all folders together. Sizes
# are octets or take a unit: "500MB", "2GiB" ("M", "G" are binary, as in
# Dovecot). "0" is unlimited. A mailbox at or over its quota gets
# "452 4.2.2 Mailbox full" at RCPT, a message that would take it over is
# refused at delivery, and IMAP APPEND/COPY get NO [OVERQUOTA] (RFC 9208).
quota = "0"
# What a delivery to a full mailbox gets (RFC 3463 X.2.2): "defer" (4.2.2;
# retried until [delivery] lifetime, then bounced, as Dovecot's
# quota_full_tempfail = yes) or "reject" (5.2.2 at once, Dovecot's default).
quota_full = "defer"
# Usage, in percent of the quota, at which the subscriber gets a notice
# in INBOX (Japanese and English) when a delivery takes the mailbox past
# it, as Dovecot's quota_warning does: [80, 95] warns at 80 % and again at
# 95 %. Each crossing once; a notice comes again only after usage went
# below the percentage and back over it. A notice is stored even in a
# full mailbox. Empty (the default): no notices.
quota_warnings = []
# The notices' sender; "": postmaster@<hostname>.
quota_warning_from = ""

[imap]
# Offer COMPRESS=DEFLATE (RFC 4978) after login: clients that use it (K-9
# Mail / Thunderbird for Android, iOS Mail on cellular) send and receive
# raw DEFLATE inside TLS, a third to a tenth of the bytes. Each compressed
# connection keeps a DEFLATE inflater and its 32 KiB window while open:
# about 30 KiB more per idle connection (10,000 compressed IDLE clients:
# 54 KiB each instead of 24, ~300 MB more; see README). Off, as in Dovecot
# without its compress plugin.
compress = false

[reputation]
# How the MX judges where mail comes from, before it is received. What
# needs only the client's address (the DNS lists, imported dynamic ranges)
# is asked as soon as the connection is accepted: a refused client gets
# 554 5.7.1 instead of the 220 greeting, then 503 to every command until
# QUIT (RFC 5321 §3.1; 554 is the only refusal a greeting may be, so
# dynamic sources get 554 there, not 550). Our own pools, and the rDNS
# checks, are judged while the client says EHLO and refused at MAIL FROM
# (as Postfix's smtpd_delay_reject). Every message gets
# X-Mailgate-Reputation: score=N and the reasons; mailgate reputation check
# IP shows the verdicts.
#
# Clients in dynamic (end-user) address space talking straight to our MX
# (IP25B, the receiving side of OP25B): other ISPs' feeds imported with
# mailgate reputation import, DNS-list answers with a dynamic code, and
# (own_pools) our own dynamic pools. "reject": 554 5.7.1 at connect (550
# 5.7.1 at MAIL FROM for our own pools) telling the sender to use their
# provider's submission service (port 587 with authentication) and naming
# check_url; "score": adds 3 to the client's
# score; "off".
dynamic = "reject"
# Our self-check page, named in refusals of dynamic sources. {hostname}
# becomes hostname; "" names none.
check_url = "https://{hostname}/check"
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
# How long the greeting waits for the lookups asked at connect (lists,
# imported ranges); what has not answered by then does not block, and the
# client is greeted. 0: nothing is judged before the greeting. 100ms..10s.
connect_wait = "3s"

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
# ARC sealers (the d= of an ARC-Seal) trusted to vouch for forwarded mail
# (RFC 8617 §7.2, RFC 7489 §6.7 local policy). Every message's ARC chain is
# validated and recorded as arc=pass|fail|none. When DMARC fails under
# p=reject or p=quarantine, the chain passes, its newest set was sealed by a
# domain listed here, and that sealer's ARC-Authentication-Results say
# dmarc=pass (or an aligned dkim=pass or spf=pass) for the From domain, the
# policy is not applied: the message is delivered, dmarc=fail is kept with
# an "overridden" comment, and DMARC reports say trusted_forwarder.
# Empty by default: a listed sealer can get any From domain past DMARC, so
# whom to trust is your choice (Gmail and Microsoft 365 keep their own
# lists). Example: ["google.com", "microsoft.com"].
arc_trusted_sealers = []

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

[dmarc_reports]
# DMARC aggregate reports (RFC 7489 §7.2) to the domains whose mail our MX
# judged and whose DMARC record has rua=mailto:..., one a day per domain,
# gzipped XML sent through our own queue (DKIM-signed as our other mail).
# Off by default: reports tell other domains which IPs send as them to us
# and how much; turn it on once From below has DKIM and SPF published.
enabled = false
# report_metadata's org_name: who the reports come from.
org_name = "Example ISP"
# The reports' sender and report_metadata's email; its domain must be one
# of ours. Replies and bounces come here.
from = "dmarc-reports@isp.example"
# The reporting period; counts are sent when it ends (24h: UTC days).
interval = "24h"
# How often the counts kept in memory are written to the database; a crash
# loses at most this long's counts (never a message).
flush_interval = "1m"

[web]
# Host name mail programs use for IMAP, POP3 and submission, in setup
# guides and autoconfig; "{domain}" becomes the mail domain. "" = hostname.
client_host = "gw.{domain}"
# A web login ends after this long without use.
session_lifetime = "12h"
# The self-check's server probe refuses loopback, private (RFC 1918, ULA),
# link-local, CGNAT (RFC 6598) and our own addresses; prefixes here are
# allowed anyway (tests list 127.0.0.0/8).
probe_allow = []
# Probes per client network (IPv4 /24 or IPv6 /64) per hour, counted over
# the fleet (the store): spreading probes over the nodes gains nothing.
probe_per_hour = 20
# Probes per hour from all visitors together, over the fleet.
probe_fleet_per_hour = 600
# Time allowed for each probed port.
probe_timeout = "8s"
# Sources allowed to read /metrics (Prometheus).
metrics_allow = ["127.0.0.0/8", "::1/128"]
# How often each node adds its counters (messages in and out, refusals by
# reason, queue size) to the store's hourly buckets, which the console's
# charts show for the whole fleet (kept 8 days).
chart_interval = "1m"
# Accounts that may use the operators' console (/console, HTTPS) after
# logging in with their mail password. Empty: nobody.
operators = []

[web.probe_ports]
# The ports the probe tries on the visitor's server.
submission = 587
submissions = 465
mx = 25
`
