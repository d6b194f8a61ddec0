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
# An authoritative DNS server for the SPF/DKIM/DMARC and DNSBL tests.
have nsd         || need+=(nsd)
# Dovecot Pigeonhole's sieve-test: the oracle of the Sieve differential test.
have sieve-test  || need+=(dovecot-sieve dovecot-core)
# The ManageSieve client of the ManageSieve end-to-end test.
have sieve-connect || need+=(sieve-connect)
# Postfix as a submission server in the relay benchmark (Cyrus sasldb).
have saslpasswd2 || need+=(sasl2-bin libsasl2-modules)
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
fi
go mod download
