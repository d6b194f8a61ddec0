package login

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"mailgate/internal/password"
	"mailgate/internal/store"
)

type accounts map[string]*store.Account

func (a accounts) Account(_ context.Context, addr string) (*store.Account, error) {
	if addr == "broken@isp.example" {
		return nil, errors.New("connection refused")
	}
	if acct, ok := a[addr]; ok {
		return acct, nil
	}
	return nil, store.ErrNotFound
}

func TestCheck(t *testing.T) {
	h, _ := password.Hash("right-password")
	accts := accounts{
		"alice@isp.example": {Address: "alice@isp.example", PasswordHash: h, Status: store.StatusActive},
		"bob@isp.example":   {Address: "bob@isp.example", PasswordHash: h, Status: store.StatusSuspended},
		"carol@isp.example": {Address: "carol@isp.example", PasswordHash: h, Status: store.StatusSendingDisabled},
		"dave@isp.example":  {Address: "dave@isp.example", PasswordHash: "not-a-hash", Status: store.StatusActive},
	}
	cases := []struct {
		user, pw string
		want     error
	}{
		{"alice@isp.example", "right-password", nil},
		{"alice@isp.example", "wrong", ErrFailed},
		{"nobody@isp.example", "right-password", ErrFailed},
		{"bob@isp.example", "right-password", ErrFailed},
		{"carol@isp.example", "right-password", nil},
		{"dave@isp.example", "right-password", ErrFailed},
		{"broken@isp.example", "x", ErrUnavailable},
	}
	for _, c := range cases {
		acct, err := Check(context.Background(), accts, c.user, c.pw)
		if err != c.want {
			t.Errorf("Check(%s, %s) = %v, want %v", c.user, c.pw, err, c.want)
		}
		if err == nil && acct.Address != c.user {
			t.Errorf("Check(%s) returned account %s", c.user, acct.Address)
		}
	}
}

func TestCacheNeverOutlivesAPasswordChange(t *testing.T) {
	old, _ := password.Hash("old-password")
	acct := &store.Account{Address: "erin@isp.example", PasswordHash: old, Status: store.StatusActive}
	accts := accounts{"erin@isp.example": acct}
	ctx := context.Background()
	if _, err := Check(ctx, accts, "erin@isp.example", "old-password"); err != nil {
		t.Fatal(err)
	}
	if !cache.hit(acct.Address, old, "old-password") {
		t.Fatal("a verified login was not remembered")
	}
	if cache.hit(acct.Address, old, "other-password") {
		t.Fatal("the cache accepted a different password")
	}
	// The password changes (on this node or another): the stored hash
	// differs, so the remembered login no longer counts.
	acct.PasswordHash, _ = password.Hash("new-password")
	if _, err := Check(ctx, accts, "erin@isp.example", "old-password"); err != ErrFailed {
		t.Fatalf("old password after a change: %v, want ErrFailed", err)
	}
	if _, err := Check(ctx, accts, "erin@isp.example", "new-password"); err != nil {
		t.Fatal(err)
	}
	// Suspension wins over a remembered login.
	acct.Status = store.StatusSuspended
	if _, err := Check(ctx, accts, "erin@isp.example", "new-password"); err != ErrFailed {
		t.Fatalf("suspended account with a cached login: %v, want ErrFailed", err)
	}
}

func TestCacheExpires(t *testing.T) {
	v := newVerified(10 * time.Millisecond)
	v.remember("a@isp.example", "h", v.mac("pw"))
	if !v.hit("a@isp.example", "h", "pw") {
		t.Fatal("fresh entry missed")
	}
	time.Sleep(20 * time.Millisecond)
	if v.hit("a@isp.example", "h", "pw") {
		t.Fatal("expired entry still counted")
	}
}

// Identical logins at the same moment share one verification; different
// passwords never share.
func TestConcurrentIdenticalChecksShareOneVerification(t *testing.T) {
	v := newVerified(time.Minute)
	release := make(chan struct{})
	var calls atomic.Int32
	slow := func(result bool) func() bool {
		return func() bool { calls.Add(1); <-release; return result }
	}
	results := make(chan bool, 11)
	for range 10 {
		go func() { results <- v.check("a@isp.example", "h", "pw", slow(true)) }()
	}
	go func() { results <- v.check("a@isp.example", "h", "guess", slow(false)) }()
	for calls.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let the other nine reach the wait
	close(release)
	ok := 0
	for range 11 {
		if <-results {
			ok++
		}
	}
	if ok != 10 || calls.Load() != 2 {
		t.Fatalf("%d logins succeeded with %d verifications; want 10 with 2 (one per distinct password)", ok, calls.Load())
	}
	if !v.hit("a@isp.example", "h", "pw") || v.hit("a@isp.example", "h", "guess") {
		t.Fatal("only the verified password may be remembered")
	}
}

// hit reports whether pw was verified against storedHash lately.
func (v *verified) hit(account, storedHash, pw string) bool {
	mac := v.mac(pw)
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.fresh(account, storedHash, mac)
}

// withThrottle installs a throttle with set, in memory, for one test.
func withThrottle(t *testing.T, set Settings) *Throttle {
	saved := throttle.Load()
	th := NewThrottle(newMemCounters(), set, nil)
	th.cache.ttl = 0 // every login reads the counters
	SetThrottle(th)
	t.Cleanup(func() { SetThrottle(saved) })
	return th
}

// priority is what the next login from source hashes at.
func (t *Throttle) priority(source string) password.Priority {
	client, _ := clientOf(addr(source))
	k := keysFor(client, "x")
	cs, _ := t.read(context.Background(), k.all())
	if t.live(cs[k.addr.ID()], time.Now()) > 0 {
		return password.Low
	}
	return password.Normal
}

// Issue 15 §4: a source whose login failed hashes its next logins at Low
// priority (behind clean sources, within its share of the CPUs); other
// sources, a success, or a directory outage change nothing.
func TestFailedSourcesLosePriority(t *testing.T) {
	th := withThrottle(t, Settings{Window: time.Hour})
	h, _ := password.Hash("right-password")
	accts := accounts{"alice@isp.example": {Address: "alice@isp.example", PasswordHash: h, Status: store.StatusActive}}
	ctx := context.Background()
	check := func(source, user, pw string, want error) {
		t.Helper()
		if _, err := CheckFrom(ctx, accts, addr(source), user, pw); err != want {
			t.Fatalf("CheckFrom(%s, %s) = %v, want %v", source, user, err, want)
		}
	}
	check("192.0.2.1", "alice@isp.example", "right-password", nil)
	check("192.0.2.2", "broken@isp.example", "x", ErrUnavailable)
	check("", "alice@isp.example", "wrong", ErrFailed)
	for _, src := range []string{"192.0.2.1", "192.0.2.2", "2001:db8::1"} {
		if p := th.priority(src); p != password.Normal {
			t.Fatalf("%q has priority %d before failing, want Normal", src, p)
		}
	}
	check("192.0.2.66", "alice@isp.example", "wrong", ErrFailed)
	check("2001:db8:0:1::1", "nobody@isp.example", "x", ErrFailed)
	for src, want := range map[string]password.Priority{
		"192.0.2.66": password.Low, "::ffff:192.0.2.66": password.Low, "192.0.2.67": password.Normal,
		"2001:db8:0:1::ffff": password.Low, "2001:db8:0:2::1": password.Normal,
	} {
		if got := th.priority(src); got != want {
			t.Errorf("priority(%s) = %d, want %d", src, got, want)
		}
	}
	// The failing source can still log in, at Low priority.
	check("192.0.2.66", "alice@isp.example", "right-password", nil)
}

func TestFailuresExpire(t *testing.T) {
	th := withThrottle(t, Settings{Window: 10 * time.Millisecond})
	CheckFrom(context.Background(), accounts{}, addr("192.0.2.1"), "a@isp.example", "x")
	if th.priority("192.0.2.1") != password.Low {
		t.Fatal("fresh failure not remembered")
	}
	time.Sleep(20 * time.Millisecond)
	if th.priority("192.0.2.1") != password.Normal {
		t.Fatal("failure outside the window still counted")
	}
}

// addr is a client's TCP address at ip; "" is an unknown one (nil).
func addr(ip string) net.Addr {
	if ip == "" {
		return nil
	}
	return net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.MustParseAddr(ip), 40000))
}
