#!/usr/bin/env bash
# The full test suite: installs missing peers, starts PostgreSQL, runs every
# Go test (unit, store against both databases, end-to-end with real peers),
# then runs each fuzz target briefly beyond its seed corpus.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/test-deps.sh
# Every peer is installed now: a test that finds one missing fails instead
# of skipping (test/e2e MissingPeer), so a broken install is never green.
export MAILGATE_REQUIRE_PEERS=1
go vet ./...
./scripts/with-postgres.sh go test -count=1 -timeout 30m ./...
# go-imap and go-smtp as built (the releases plus mailgate's fixes): their
# own tests too.
(cd third_party/go-imap && go test -count=1 ./...)
(cd third_party/go-smtp && go test -count=1 ./...)
./scripts/fuzz-short.sh
