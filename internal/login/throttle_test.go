package login

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"mailgate/internal/password"
	"mailgate/internal/store"
)

func throttleAccounts() accounts {
	h, _ := password.Hash("victim-password")
	return accounts{
		"victim@isp.example": {Address: "victim@isp.example", PasswordHash: h, Status: store.StatusActive},
		"other@isp.example":  {Address: "other@isp.example", PasswordHash: h, Status: store.StatusActive},
	}
}

func expect(t *testing.T, accts accounts, source, user, pw string, want error) {
	t.Helper()
	if _, err := CheckFrom(context.Background(), accts, addr(source), user, pw); err != want {
		t.Fatalf("login %s from %s: %v, want %v", user, source, err, want)
	}
}

// Issue 11 §2: a password sprayer (one address, many accounts) is blocked
// after BlockAfter failures, while the accounts it tried still log in
// from elsewhere: no account is ever locked for everyone.
func TestSprayingBlocksTheAddressNotTheAccounts(t *testing.T) {
	withThrottle(t, Settings{Window: time.Hour, BlockAfter: 4, BlockAfterAccount: 3, BlockAfterNetwork: 100, BlockTime: time.Hour})
	accts := throttleAccounts()
	for i := range 4 {
		expect(t, accts, "192.0.2.66", fmt.Sprintf("user%d@isp.example", i), "Summer2026!", ErrFailed)
	}
	// Blocked now: even the right password is not looked at.
	expect(t, accts, "192.0.2.66", "victim@isp.example", "victim-password", ErrBlocked)
	expect(t, accts, "::ffff:192.0.2.66", "victim@isp.example", "victim-password", ErrBlocked)
	// The neighbour in the same /24 and the victim from home are fine.
	expect(t, accts, "192.0.2.67", "victim@isp.example", "victim-password", nil)
	expect(t, accts, "2001:db8::1", "victim@isp.example", "victim-password", nil)
}

// Guessing one account's password from one address blocks that pair
// only: the address logs into other accounts, the account from others.
func TestGuessingOneAccountBlocksThePairOnly(t *testing.T) {
	withThrottle(t, Settings{Window: time.Hour, BlockAfter: 10, BlockAfterAccount: 3, BlockAfterNetwork: 100, BlockTime: time.Hour})
	accts := throttleAccounts()
	for range 3 {
		expect(t, accts, "192.0.2.66", "victim@isp.example", "guess", ErrFailed)
	}
	expect(t, accts, "192.0.2.66", "victim@isp.example", "victim-password", ErrBlocked)
	expect(t, accts, "192.0.2.66", "VICTIM@isp.example", "victim-password", ErrBlocked) // one account, however spelled
	expect(t, accts, "192.0.2.66", "other@isp.example", "victim-password", nil)
	expect(t, accts, "192.0.2.1", "victim@isp.example", "victim-password", nil)
}

// A guesser walking its /24 (or its IPv6 /48, one /64 after another) is
// blocked as a network.
func TestWalkingTheNetworkBlocksIt(t *testing.T) {
	withThrottle(t, Settings{Window: time.Hour, BlockAfter: 10, BlockAfterAccount: 10, BlockAfterNetwork: 5, BlockTime: time.Hour})
	accts := throttleAccounts()
	for i := range 5 {
		expect(t, accts, fmt.Sprintf("192.0.2.%d", 10+i), "victim@isp.example", "guess", ErrFailed)
		expect(t, accts, fmt.Sprintf("2001:db8:1:%x::1", i), "victim@isp.example", "guess", ErrFailed)
	}
	expect(t, accts, "192.0.2.200", "other@isp.example", "victim-password", ErrBlocked)
	expect(t, accts, "2001:db8:1:ff::1", "other@isp.example", "victim-password", ErrBlocked)
	expect(t, accts, "192.0.3.1", "other@isp.example", "victim-password", nil)
	expect(t, accts, "2001:db8:2::1", "other@isp.example", "victim-password", nil)
}

// A success clears the pair's failures, and takes them off the address:
// a user's own typos never add up to a block, while a guesser that logs
// into its own account between guesses keeps its other failures.
func TestSuccessClearsThePair(t *testing.T) {
	withThrottle(t, Settings{Window: time.Hour, BlockAfter: 4, BlockAfterAccount: 3, BlockAfterNetwork: 100, BlockTime: time.Hour})
	accts := throttleAccounts()
	for range 10 { // ten rounds of two typos and a login
		expect(t, accts, "192.0.2.5", "victim@isp.example", "typo", ErrFailed)
		expect(t, accts, "192.0.2.5", "victim@isp.example", "typo", ErrFailed)
		expect(t, accts, "192.0.2.5", "victim@isp.example", "victim-password", nil)
	}
	// A guesser with its own account: three guesses at victim, its own
	// login, one more guess at another account: blocked at four.
	expect(t, accts, "192.0.2.6", "a@isp.example", "guess", ErrFailed)
	expect(t, accts, "192.0.2.6", "b@isp.example", "guess", ErrFailed)
	expect(t, accts, "192.0.2.6", "c@isp.example", "guess", ErrFailed)
	expect(t, accts, "192.0.2.6", "other@isp.example", "victim-password", nil)
	expect(t, accts, "192.0.2.6", "d@isp.example", "guess", ErrFailed)
	expect(t, accts, "192.0.2.6", "other@isp.example", "victim-password", ErrBlocked)
}

// The delay doubles per failure up to the cap (Dovecot's auth_penalty).
func TestPenaltyDoubles(t *testing.T) {
	th := NewThrottle(newMemCounters(), Settings{Delay: 2 * time.Second, MaxDelay: 15 * time.Second}, nil)
	for n, want := range map[int]time.Duration{0: 0, 1: 2 * time.Second, 2: 4 * time.Second, 3: 8 * time.Second, 4: 15 * time.Second, 1000: 15 * time.Second} {
		if got := th.penalty(n); got != want {
			t.Errorf("penalty(%d) = %v, want %v", n, got, want)
		}
	}
	if got := NewThrottle(newMemCounters(), Settings{}, nil).penalty(5); got != 0 {
		t.Errorf("no delay configured: %v", got)
	}
}

func TestParseSource(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1": "192.0.2.1", "::ffff:192.0.2.1": "192.0.2.1", "2001:db8::1": "2001:db8::/64",
		"192.0.2.9/24": "192.0.2.0/24", "2001:db8::/48": "2001:db8::/48",
	} {
		if got, err := ParseSource(in); err != nil || got != want {
			t.Errorf("ParseSource(%s) = %s, %v; want %s", in, got, err, want)
		}
	}
	if _, err := ParseSource("example.com"); err == nil {
		t.Error("a name was accepted")
	}
}

// ParseSource never panics, and what it accepts reads back to itself.
func FuzzParseSource(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "2001:db8::1", "192.0.2.0/24", "::ffff:1.2.3.4", "fe80::1%eth0", "1.2.3.4/33", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseSource(s)
		if err != nil {
			return
		}
		again, err := ParseSource(got)
		if err != nil || again != got {
			t.Fatalf("%q -> %q -> %q, %v", s, got, again, err)
		}
	})
}

// Whatever a client sends as its user name, the counter keys stay bounded
// and name the client's own address.
func FuzzKeysFor(f *testing.F) {
	f.Add("alice@isp.example", "192.0.2.1")
	f.Add("ALICE@ISP.EXAMPLE", "2001:db8::1")
	f.Add("\x00|:", "::ffff:192.0.2.1")
	f.Fuzz(func(t *testing.T, user, ip string) {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return
		}
		a = a.Unmap().WithZone("")
		k := keysFor(a, user)
		if len(k.pair.Account) > 320 || k.addr.Source != SourceOf(a) || k.pair.Source != k.addr.Source {
			t.Fatalf("keys %+v for %q from %s", k, user, a)
		}
	})
}
