#!/usr/bin/env bash
# Installs what the test suite's real peers need, when missing, and checks
# that each can do what the tests ask of it (a command on the PATH is not
# enough: swaks without Net::SSLeay has no TLS). Idempotent; needs root (CI
# and developer machines run as root). Packages are installed by name with
# --no-install-recommends, so every package a capability needs is listed.
set -euo pipefail

# Each capability: a name, the Debian packages that provide it, and a check.
caps=()
cap() { caps+=("$1|$2|$3"); }

cap "swaks with TLS and AUTH" "swaks libnet-ssleay-perl libio-socket-ssl-perl" \
  "swaks --support 2>&1 | grep -q '^=== TLS supported' && swaks --support 2>&1 | grep -q '^=== Basic AUTH supported'"
cap "curl with SMTP, IMAP and POP3 over TLS" "curl ca-certificates" \
  "curl -V | grep -qw smtps && curl -V | grep -qw imaps && curl -V | grep -qw pop3s"
cap "python3 with ssl" "python3" "python3 -c 'import ssl, smtplib, imaplib, poplib'"
# TLS session resumption across nodes (tls_resumption_test.go): STARTTLS
# and saved sessions.
cap "openssl s_client with -starttls and -sess_in" "openssl" \
  "openssl s_client -help 2>&1 | grep -q -- '-sess_in' && openssl s_client -help 2>&1 | grep -q -- '-starttls'"
# dkimpy's ARC (arc_sign, arc_verify) needs python3-authres.
cap "python3-dkim (dkimpy) for /usr/bin/python3" "python3-dkim python3-dnspython python3-nacl python3-authres" \
  "/usr/bin/python3 -c 'import dkim, dns.resolver, authres' && command -v dkimverify && command -v arcverify"
cap "nftables" "nftables" "command -v nft"
cap "iproute2" "iproute2" "command -v ip"
cap "iptables and ipset" "iptables ipset" "command -v iptables && command -v ipset"
cap "PostgreSQL server" "postgresql" "ls /usr/lib/postgresql/*/bin/initdb"
cap "Postfix with smtp-source and smtp-sink" "postfix" \
  "command -v postfix && command -v postconf && command -v smtp-source && command -v smtp-sink"
# Postfix as a submission server in the relay benchmark (Cyrus sasldb,
# PLAIN and LOGIN mechanisms).
cap "Cyrus SASL sasldb with PLAIN and LOGIN" "sasl2-bin libsasl2-modules" \
  "command -v saslpasswd2 && ls /usr/lib/*/sasl2/libplain.so* /usr/lib/*/sasl2/liblogin.so*"
cap "Dovecot IMAP and POP3" "dovecot-core dovecot-imapd dovecot-pop3d" \
  "command -v dovecot && test -x /usr/lib/dovecot/imap && test -x /usr/lib/dovecot/pop3"
# Dovecot's LMTP server: Postfix delivers into it in the submission
# benchmark's peer (Postfix + Dovecot SASL, as ISPs run them).
cap "Dovecot LMTP and SQL auth (SQLite)" "dovecot-core dovecot-lmtpd dovecot-sqlite" \
  "command -v dovecot && test -x /usr/lib/dovecot/lmtp && test -e /usr/lib/dovecot/modules/libdriver_sqlite.so"
cap "fetchmail with SSL" "fetchmail ca-certificates" "fetchmail -V 2>/dev/null | grep -q '+SSL'"
cap "mbsync" "isync" "command -v mbsync"
# An HTTP/2 client that prints the frames it gets (the web server's SETTINGS).
cap "nghttp (HTTP/2 client)" "nghttp2-client" "command -v nghttp"
# Running the node under a low open-file limit (connection-limit tests).
cap "prlimit" "util-linux" "command -v prlimit"
# The node as an unprivileged system user (privsep_test.go): a user made
# and removed by useradd and userdel, the node run as it by setpriv.
cap "useradd, userdel and setpriv" "passwd util-linux" \
  "command -v useradd && command -v userdel && setpriv --help 2>&1 | grep -q -- --reuid"
# An authoritative DNS server for the SPF/DKIM/DMARC and DNSBL tests.
cap "nsd (authoritative DNS)" "nsd" "command -v nsd && command -v nsd-checkconf"
# The BNG's side of RADIUS accounting.
cap "radclient (freeradius-utils)" "freeradius-utils" "command -v radclient"
# Flow records for edge impact: nfpcapd turns a capture into an nfcapd
# file, nfdump prints it as CSV.
cap "nfdump with nfpcapd" "nfdump" "command -v nfdump && command -v nfpcapd && nfdump -h 2>&1 | grep -q csv"
# The content scanners the node talks to (internal/scan), started offline by
# internal/testpeer; rspamd learns (Bayes) only with Redis.
cap "clamd and clamscan" "clamav-daemon clamav" "clamd --version | grep -q '^ClamAV '"
cap "rspamd" "rspamd" "rspamd --version | grep -q 'Rspamd daemon version'"
cap "redis-server" "redis-server" "redis-server --version | grep -q '^Redis server v='"
# Dovecot Pigeonhole's sieve-test: the oracle of the Sieve differential test.
cap "Pigeonhole sieve-test" "dovecot-sieve dovecot-core" "command -v sieve-test"
# The ManageSieve client of the ManageSieve end-to-end test.
cap "sieve-connect" "sieve-connect" "command -v sieve-connect"
# The web pages in a real browser (test/e2e/web_browser_test.go, chromedp),
# with a Japanese font so the screenshots of the Japanese pages are legible.
cap "chromium (headless, for chromedp)" "chromium" "chromium --version | grep -q '^Chromium '"
cap "a Japanese font for the screenshots" "fonts-noto-cjk fontconfig" "fc-list :lang=ja | grep -q ."
# PostSRSd, the SRS daemon Postfix sites run: internal/srs makes and checks
# the same addresses (postsrsd_test.go).
cap "postsrsd" "postsrsd" "command -v postsrsd && postsrsd -h 2>&1 | grep -q -- -f"

check() { bash -c "$1" >/dev/null 2>&1; }

need=()
for c in "${caps[@]}"; do
  IFS='|' read -r name pkgs test <<<"$c"
  check "$test" || need+=($pkgs)
done
if [ ${#need[@]} -gt 0 ]; then
  echo "test-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # postfix asks how to configure itself: a local-only install, no service.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  # Tests start the daemons they need themselves, on loopback: keep the
  # packages from starting system-wide services on install.
  policy=/usr/sbin/policy-rc.d
  had_policy=0; [ -e "$policy" ] && had_policy=1
  [ $had_policy = 1 ] || { printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; }
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  [ $had_policy = 1 ] || rm -f "$policy"
  # The scanner packages enable system services for the next boot: tests run
  # their own daemons, and freshclam would retry its downloads forever.
  case " ${need[*]} " in *" clamav-daemon "*|*" rspamd "*|*" redis-server "*)
    if command -v systemctl >/dev/null; then
      systemctl disable clamav-freshclam clamav-daemon rspamd redis-server >/dev/null 2>&1 || true
    fi;;
  esac
fi

# Installed is not enough: check every capability again, and name the
# packages of any that is still missing.
failed=0
for c in "${caps[@]}"; do
  IFS='|' read -r name pkgs test <<<"$c"
  if ! check "$test"; then
    echo "test-deps: $name is still missing after installing: apt-get install $pkgs (check: $test)" >&2
    failed=1
  fi
done
[ $failed = 0 ] || exit 1
go mod download
