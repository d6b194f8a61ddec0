#!/usr/bin/env bash
# Installs what the test suite's real peers need, when missing. Idempotent;
# needs root (CI and developer machines run as root).
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have swaks       || need+=(swaks)
have curl        || need+=(curl)
have nft         || need+=(nftables)
have ip          || need+=(iproute2)
have iptables    || need+=(iptables)
have ipset       || need+=(ipset)
have python3     || need+=(python3)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql)
have postconf    || need+=(postfix)
have smtp-source || need+=(postfix)
have dovecot     || need+=(dovecot-imapd dovecot-pop3d)
have fetchmail   || need+=(fetchmail)
have mbsync      || need+=(isync)
have dkimverify  || need+=(python3-dkim)
# Postfix as a submission server in the relay benchmark (Cyrus sasldb).
have saslpasswd2 || need+=(sasl2-bin libsasl2-modules)
# The content scanners the node talks to (internal/scan): clamd and rspamd,
# started offline by internal/testpeer. rspamd without its recommends
# (redis-server): scanning needs no Redis.
have clamd       || need+=(clamav-daemon clamav)
have rspamd      || need+=(rspamd)
# rspamd learns (Bayes) only with Redis: the learning test starts one.
have redis-server || need+=(redis-server)
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
# Capability, not just a command: each answers its version.
clamd --version | grep -q '^ClamAV ' || { echo "test-deps: clamd does not run" >&2; exit 1; }
rspamd --version | grep -q 'Rspamd daemon version' || { echo "test-deps: rspamd does not run" >&2; exit 1; }
redis-server --version | grep -q '^Redis server v=' || { echo "test-deps: redis-server does not run" >&2; exit 1; }
go mod download
