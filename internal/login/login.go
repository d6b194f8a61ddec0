// Package login checks an account's password: the one way submission,
// POP3 and IMAP all do it.
package login

import (
	"context"
	"errors"
	"net"
	"net/netip"

	"mailgate/internal/address"
	"mailgate/internal/metrics"
	"mailgate/internal/password"
	"mailgate/internal/store"
)

var (
	// ErrFailed covers an unknown user, a wrong password and a suspended
	// account alike, so no reply tells an attacker which it was.
	ErrFailed = errors.New("login: invalid credentials")
	// ErrUnavailable means the directory could not be asked; try later.
	ErrUnavailable = errors.New("login: directory unavailable")
)

// Accounts is what a login needs from the store.
type Accounts interface {
	Account(ctx context.Context, addr string) (*store.Account, error)
}

// Check is CheckFrom for a caller that does not know the client's address:
// its logins never lose priority.
func Check(ctx context.Context, accts Accounts, user, pw string) (*store.Account, error) {
	return CheckFrom(ctx, accts, nil, user, pw)
}

// CheckFrom verifies user's password for a client at source (the
// connection's remote address). An unknown user costs one dummy argon2id
// hash, as long as a known user with a wrong password, so timing does not
// tell them apart either. Sending-disabled accounts may log in (they can
// still read mail); suspended ones may not. Logins are throttled by the
// client's address (see Throttle): ErrBlocked refuses a blocked one.
func CheckFrom(ctx context.Context, accts Accounts, source net.Addr, user, pw string) (*store.Account, error) {
	client, ok := clientOf(source)
	if !ok {
		return counted(check(ctx, accts, password.Normal, user, pw))
	}
	return CheckClient(ctx, accts, client, user, pw)
}

// CheckClient is CheckFrom for a trusted front end (webmail, the portal,
// a proxy) that checks a password on behalf of a client whose address it
// knows: client is that real client's address, never the front end's own,
// so a guesser behind the portal is throttled and blocked by its own
// address, and the portal's other users are not. The front end must take
// the address only from its own connection or from a header its own
// reverse proxy sets (never one a client can send), and answer ErrBlocked
// with HTTP 429 and Retry-After.
func CheckClient(ctx context.Context, accts Accounts, client netip.Addr, user, pw string) (*store.Account, error) {
	return counted(throttle.Load().check(ctx, accts, client.Unmap().WithZone(""), user, pw))
}

// counted counts a password check's result (metrics.Logins) and passes it on.
func counted(acct *store.Account, err error) (*store.Account, error) {
	result := "ok"
	switch {
	case err == nil:
	case errors.Is(err, ErrFailed):
		result = "failed"
	case errors.Is(err, ErrBlocked):
		result = "blocked"
	default:
		result = "unavailable"
	}
	metrics.Logins.WithLabelValues(result).Inc()
	return acct, err
}

func check(ctx context.Context, accts Accounts, prio password.Priority, user, pw string) (*store.Account, error) {
	acct, err := accts.Account(ctx, user)
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, address.ErrInvalid):
		password.VerifyDummy(prio, pw)
		return nil, ErrFailed
	case err != nil:
		return nil, ErrUnavailable
	}
	if acct.Status == store.StatusSuspended {
		password.VerifyDummy(prio, pw)
		return nil, ErrFailed
	}
	ok := cache.check(acct.Address, acct.PasswordHash, pw, func() bool {
		ok, err := password.VerifyAs(prio, acct.PasswordHash, pw)
		return err == nil && ok
	})
	if !ok {
		return nil, ErrFailed
	}
	return acct, nil
}
