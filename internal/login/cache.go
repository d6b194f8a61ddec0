package login

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// verified remembers recent successful logins, so a client that opens a
// connection per message (most of them) does not pay an argon2id hash —
// tens of milliseconds of CPU and 19 MiB — each time. (Dovecot's
// auth_cache does not spare that: it keeps the stored hash and verifies
// every login against it, src/auth/passdb-cache.c.) An entry holds an HMAC of the password under a key made at
// start, never the password, and counts only while the account's stored
// hash is the one it was checked against: a password change ends it at
// once, on every node. Failures are never cached, so guessing still costs
// a full hash per try.
type verified struct {
	key [32]byte
	ttl time.Duration

	mu       sync.Mutex
	m        map[string]entry    // account + "\x00" + stored hash -> entry
	inflight map[string]*pending // the same + "\x00" + HMAC of the password
}

// pending is a verification under way; identical ones wait for it.
type pending struct {
	done chan struct{}
	ok   bool
}

type entry struct {
	mac     [32]byte
	expires time.Time
}

const maxVerified = 100000

var cache = newVerified(10 * time.Minute)

func newVerified(ttl time.Duration) *verified {
	v := &verified{ttl: ttl, m: map[string]entry{}, inflight: map[string]*pending{}}
	rand.Read(v.key[:])
	return v
}

func (v *verified) mac(pw string) [32]byte {
	h := hmac.New(sha256.New, v.key[:])
	h.Write([]byte(pw))
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

// check reports whether pw is the password of storedHash: from a recent
// success, else by slow (the argon2id verification). Concurrent checks of
// the same account, hash and password — a client opening several
// connections at once, a reconnect storm — share one slow call.
func (v *verified) check(account, storedHash, pw string, slow func() bool) bool {
	mac := v.mac(pw)
	key := account + "\x00" + storedHash + "\x00" + string(mac[:])
	v.mu.Lock()
	if v.fresh(account, storedHash, mac) {
		v.mu.Unlock()
		return true
	}
	if p, ok := v.inflight[key]; ok {
		v.mu.Unlock()
		<-p.done
		return p.ok
	}
	p := &pending{done: make(chan struct{})}
	v.inflight[key] = p
	v.mu.Unlock()
	p.ok = slow()
	if p.ok {
		v.remember(account, storedHash, mac)
	}
	v.mu.Lock()
	delete(v.inflight, key)
	v.mu.Unlock()
	close(p.done)
	return p.ok
}

// fresh reports whether the password whose HMAC is mac was verified
// against storedHash lately; v.mu is held.
func (v *verified) fresh(account, storedHash string, mac [32]byte) bool {
	e, ok := v.m[account+"\x00"+storedHash]
	return ok && time.Now().Before(e.expires) && hmac.Equal(e.mac[:], mac[:])
}

func (v *verified) remember(account, storedHash string, mac [32]byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.m) >= maxVerified {
		v.m = map[string]entry{}
	}
	v.m[account+"\x00"+storedHash] = entry{mac: mac, expires: time.Now().Add(v.ttl)}
}
