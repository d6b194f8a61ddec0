package testpeer

import (
	"os"
	"testing"
)

// MissingPeer skips a test whose real peer is not installed, for a bare
// `go test`. Under `make test`, which installs every peer first and sets
// MAILGATE_REQUIRE_PEERS=1, it fails the test instead: a broken install
// step must not turn into a green run.
func MissingPeer(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("MAILGATE_REQUIRE_PEERS") != "" {
		t.Fatalf(format+" (MAILGATE_REQUIRE_PEERS is set: scripts/test-deps.sh should have installed it)", args...)
	}
	t.Skipf(format, args...)
}
