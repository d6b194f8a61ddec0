package login

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mailgate/internal/address"
	"mailgate/internal/password"
	"mailgate/internal/store"
)

// ErrBlocked means the client's address (or network, or address and this
// account) failed too many logins lately and is refused for a while
// without its password being looked at. Services answer with their
// temporary-failure reply: SMTP 454 4.7.0 (RFC 4954 §6), IMAP NO
// [UNAVAILABLE] (RFC 5530 §3), POP3 -ERR [SYS/TEMP] (RFC 3206 §4).
var ErrBlocked = errors.New("login: too many failed logins from this address, try again later")

// Settings tune login throttling ([abuse.login] in the config). A zero
// Delay adds no delay; a zero BlockAfter* never blocks at that level.
type Settings struct {
	// Window: failures count while each comes less than Window after the
	// one before (fail2ban's findtime, 10m; ours 15m).
	Window time.Duration
	// Delay is the wait before checking a login after one failure from
	// its address (or address and account); it doubles with each further
	// failure up to MaxDelay (Dovecot's auth_penalty: 2s doubling to 15s).
	Delay, MaxDelay time.Duration
	// BlockAfter failures from one address (an IPv4 address, an IPv6 /64)
	// block it for BlockTime (fail2ban: maxretry 5, bantime 10m).
	BlockAfter int
	// BlockAfterAccount failures against one account from one address
	// block that pair only: the account still logs in from elsewhere.
	BlockAfterAccount int
	// BlockAfterNetwork failures from one IPv4 /24 or IPv6 /48 block it:
	// a guesser walking through its neighbours' addresses. Set it well
	// above BlockAfter: a CGNAT or campus network shares one.
	BlockAfterNetwork int
	BlockTime         time.Duration
}

// DefaultSettings are the built-in [abuse.login] values.
func DefaultSettings() Settings {
	return Settings{Window: 15 * time.Minute, Delay: 2 * time.Second, MaxDelay: 15 * time.Second,
		BlockAfter: 10, BlockAfterAccount: 5, BlockAfterNetwork: 50, BlockTime: 15 * time.Minute}
}

// Counters keeps the failure counts: the store (store.Store, shared by a
// fleet) or, for a process without one, memory.
type Counters interface {
	LoginCounters(ctx context.Context, keys []store.LoginKey) (map[string]store.LoginCounter, error)
	AddLoginFailures(ctx context.Context, keys []store.LoginKey, window time.Duration) ([]store.LoginCounter, error)
	BlockLogins(ctx context.Context, actor string, k store.LoginKey, until time.Time, reason string) (bool, error)
	ClearLoginFailures(ctx context.Context, pair store.LoginKey, parents []store.LoginKey) error
	PruneLoginFailures(ctx context.Context, window time.Duration) error
}

// Throttle is login throttling: the one record of failed logins, which
// delays, blocks, and lowers the hashing priority of failing sources.
// Every service's login goes through it (CheckFrom, CheckClient).
type Throttle struct {
	counters Counters
	set      Settings
	log      *slog.Logger
	// OnSuccess, if set, hears of every successful login (the
	// compromised-account response counts distinct sources).
	OnSuccess func(account string, client netip.Addr)

	cache     *counterCache
	lastPrune atomic.Int64
}

// NewThrottle counts in c with set, logging blocks to log.
func NewThrottle(c Counters, set Settings, log *slog.Logger) *Throttle {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if set.Window <= 0 {
		set.Window = 15 * time.Minute
	}
	return &Throttle{counters: c, set: set, log: log, cache: &counterCache{ttl: time.Second, m: map[string]cachedCounter{}}}
}

// throttle is the process's; serve installs the store-backed one. Until
// then failures only lower priority (no delay, no block), in memory.
var throttle atomic.Pointer[Throttle]

func init() { throttle.Store(NewThrottle(newMemCounters(), Settings{}, nil)) }

// SetThrottle installs t for every login of the process.
func SetThrottle(t *Throttle) { throttle.Store(t) }

// keys are the counters a login from client as user touches: the address
// (IPv4, or the IPv6 /64 one subscriber line gets, RFC 6177), its network
// (/24, /48), and the address with the account.
type keys struct{ addr, network, pair store.LoginKey }

func keysFor(client netip.Addr, user string) keys {
	a, n := SourceOf(client), ""
	if client.Is4() {
		p, _ := client.Prefix(24)
		n = p.String()
	} else {
		p, _ := client.Prefix(48)
		n = p.String()
	}
	acct := strings.ToLower(user)
	if norm, err := address.Normalize(user); err == nil {
		acct = norm
	}
	if len(acct) > 320 {
		acct = acct[:320]
	}
	return keys{
		addr:    store.LoginKey{Scope: store.LoginScopeAddress, Source: a},
		network: store.LoginKey{Scope: store.LoginScopeNetwork, Source: n},
		pair:    store.LoginKey{Scope: store.LoginScopeAccount, Source: a, Account: acct},
	}
}

func (k keys) all() []store.LoginKey { return []store.LoginKey{k.addr, k.network, k.pair} }

// SourceOf is how an address is named in counters and blocks: an IPv4
// address as itself, an IPv6 address as its /64.
func SourceOf(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// ParseSource reads what an operator names a blocked source by (an
// address, or a prefix as `abuse blocks list` shows it) into the form
// counters use.
func ParseSource(s string) (string, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return SourceOf(a), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return "", fmt.Errorf("%q is neither an address nor a prefix (e.g. 192.0.2.1, 192.0.2.0/24, 2001:db8::/64)", s)
	}
	return p.Masked().String(), nil
}

// clientOf is the IP address of a connection's remote end; false when the
// caller does not know it.
func clientOf(source net.Addr) (netip.Addr, bool) {
	if source == nil {
		return netip.Addr{}, false
	}
	if ta, ok := source.(*net.TCPAddr); ok {
		a, ok := netip.AddrFromSlice(ta.IP)
		return a.Unmap(), ok
	}
	ap, err := netip.ParseAddrPort(source.String())
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap().WithZone(""), true
}

// live is a counter's failures if its last one is within the window.
func (t *Throttle) live(c store.LoginCounter, now time.Time) int {
	if c.Failures == 0 || now.Sub(c.LastAt) >= t.set.Window {
		return 0
	}
	return c.Failures
}

// penalty is the wait before checking a login after n failures.
func (t *Throttle) penalty(n int) time.Duration {
	if n <= 0 || t.set.Delay <= 0 {
		return 0
	}
	d := t.set.Delay
	for i := 1; i < n && d < t.set.MaxDelay; i++ {
		d *= 2
	}
	return min(d, max(t.set.MaxDelay, t.set.Delay))
}

// check is one login from client: refused at once if blocked, delayed
// after failures, verified at the priority the address has earned, and
// counted.
func (t *Throttle) check(ctx context.Context, accts Accounts, client netip.Addr, user, pw string) (*store.Account, error) {
	k := keysFor(client, user)
	cs, err := t.read(ctx, k.all())
	if err != nil {
		// The counters are unreachable: logins go on unthrottled rather
		// than all failing; the directory decides.
		t.log.Error("login throttle: reading failure counters", "err", err)
		cs = map[string]store.LoginCounter{}
	}
	now := time.Now()
	for _, key := range k.all() {
		if c := cs[key.ID()]; c.Blocked(now) {
			t.log.Info("login refused: blocked", "client", client.String(), "user", k.pair.Account,
				"scope", key.Scope, "source", key.Source, "until", c.BlockedUntil.UTC().Format(time.RFC3339))
			return nil, ErrBlocked
		}
	}
	addrFails, pairFails := t.live(cs[k.addr.ID()], now), t.live(cs[k.pair.ID()], now)
	prio := password.Normal
	if addrFails > 0 {
		prio = password.Low
	}
	if d := t.penalty(max(addrFails, pairFails)); d > 0 {
		t.log.Info("login delayed", "client", client.String(), "user", k.pair.Account, "failures", max(addrFails, pairFails), "delay", d)
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, ErrUnavailable
		}
	}
	acct, err := check(ctx, accts, prio, user, pw)
	switch err {
	case ErrFailed:
		t.failed(ctx, k, client)
	case nil:
		if pairFails > 0 {
			if err := t.counters.ClearLoginFailures(ctx, k.pair, []store.LoginKey{k.addr, k.network}); err != nil {
				t.log.Error("login throttle: clearing failures", "err", err)
			}
			t.cache.forget(k.all())
		}
		if t.OnSuccess != nil {
			t.OnSuccess(acct.Address, client)
		}
	}
	return acct, err
}

// threshold is the failure count that blocks a counter of scope.
func (t *Throttle) threshold(scope string) int {
	switch scope {
	case store.LoginScopeAddress:
		return t.set.BlockAfter
	case store.LoginScopeNetwork:
		return t.set.BlockAfterNetwork
	}
	return t.set.BlockAfterAccount
}

// failed counts a failure on the three counters and blocks those that
// reached their threshold; the store makes each block once fleet-wide.
func (t *Throttle) failed(ctx context.Context, k keys, client netip.Addr) {
	cs, err := t.counters.AddLoginFailures(ctx, k.all(), t.set.Window)
	if err != nil {
		t.log.Error("login throttle: counting a failure", "err", err)
		return
	}
	now := time.Now()
	for i, c := range cs {
		limit := t.threshold(c.Scope)
		if limit <= 0 || c.Failures < limit || c.Blocked(now) {
			continue
		}
		until := now.Add(t.set.BlockTime)
		reason := fmt.Sprintf("%d failed logins", c.Failures)
		if c.Scope == store.LoginScopeAccount {
			reason += " for " + c.Account
		}
		reason += " within " + t.set.Window.String() + " of each other"
		made, err := t.counters.BlockLogins(ctx, "login", k.all()[i], until, reason)
		if err != nil {
			t.log.Error("login throttle: blocking", "source", c.Source, "err", err)
			continue
		}
		cs[i].BlockedUntil = until
		if made {
			t.log.Warn("login block", "scope", c.Scope, "source", c.Source, "account", c.Account, "client", client.String(),
				"failures", c.Failures, "until", until.UTC().Format(time.RFC3339))
		}
	}
	t.cache.put(cs)
	if last := t.lastPrune.Load(); now.Unix()-last > int64(t.set.Window/time.Second) && t.lastPrune.CompareAndSwap(last, now.Unix()) {
		if err := t.counters.PruneLoginFailures(ctx, t.set.Window); err != nil {
			t.log.Error("login throttle: pruning old counters", "err", err)
		}
	}
}

// read returns the counters among ks, from a cache of at most a second: a
// client opening a connection per message (most do) costs no query on
// most logins, and a block made on another node counts within a second.
func (t *Throttle) read(ctx context.Context, ks []store.LoginKey) (map[string]store.LoginCounter, error) {
	out, missing := t.cache.get(ks)
	if len(missing) == 0 {
		return out, nil
	}
	got, err := t.counters.LoginCounters(ctx, missing)
	if err != nil {
		return nil, err
	}
	t.cache.record(missing, got)
	for id, c := range got {
		out[id] = c
	}
	return out, nil
}

type cachedCounter struct {
	c  store.LoginCounter
	at time.Time
}

// counterCache remembers counters (and their absence) for ttl.
type counterCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cachedCounter
}

const maxCached = 100000

func (c *counterCache) get(ks []store.LoginKey) (map[string]store.LoginCounter, []store.LoginKey) {
	out := make(map[string]store.LoginCounter, len(ks))
	var missing []store.LoginKey
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range ks {
		e, ok := c.m[k.ID()]
		if !ok || now.Sub(e.at) >= c.ttl {
			missing = append(missing, k)
			continue
		}
		if e.c.Scope != "" {
			out[k.ID()] = e.c
		}
	}
	return out, missing
}

// record stores a read: the keys asked, with what was found.
func (c *counterCache) record(asked []store.LoginKey, found map[string]store.LoginCounter) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bound()
	for _, k := range asked {
		c.m[k.ID()] = cachedCounter{found[k.ID()], now}
	}
}

func (c *counterCache) put(cs []store.LoginCounter) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bound()
	for _, x := range cs {
		c.m[x.ID()] = cachedCounter{x, now}
	}
}

func (c *counterCache) forget(ks []store.LoginKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range ks {
		delete(c.m, k.ID())
	}
}

// bound starts over when full; c.mu is held.
func (c *counterCache) bound() {
	if len(c.m) >= maxCached {
		c.m = map[string]cachedCounter{}
	}
}
